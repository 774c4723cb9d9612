"""A warm rebuild never serves stale output: each edit a writer makes shows in the rebuilt page.

The build keeps rendered pages, search entries, glossary links, figures and notebook outputs in
``.cache/`` (CONTRIBUTING.md lists the keys). In a scratch copy of the guide that starts with this
checkout's caches, the site is built, then each kind of input is edited and the site rebuilt with
the same caches: the edit must show. English alone (``BUILD_TRANSLATIONS=false``) keeps it quick;
the caches are the same code paths for every language. The scratch copy's own packages are put
first on ``PYTHONPATH``, so that the figures and notebooks run the edited code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.site_code.scratch import build, copy_guide

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = copy_guide(tmp_path_factory.mktemp("guide"))
    build(copy)
    return copy


# outputs that would run code on the page: an HTML display with an event handler and a script, JavaScript
CRAFTED_OUTPUTS = [
    "from IPython.display import HTML, Javascript, display\n",
    "display(HTML('<b onmouseover=\"zebraScript()\">zebra-html</b><script>zebraScript()</script>'))\n",
    "display(Javascript('zebraScript()'))\n",
]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def built(guide: Path, page: str) -> str:
    return (guide / "site" / page / "index.html").read_text(encoding="utf-8")


def test_edits_of_pages_words_and_notebooks_show_after_a_warm_rebuild(guide: Path) -> None:
    # a glossary definition: the tooltip of the term's first use on another page
    edit(
        guide / "docs" / "glossary.en.md",
        "The output of attention for one query:",
        "Zebra-definition. The output of attention for one query:",
    )
    # a figure's words, in its page's front matter: the title drawn inside the SVG
    edit(
        guide / "docs" / "simple-attention.en.md",
        "title: Attention weights of “Hello shiny sun!”",
        "title: Zebra weights of “Hello shiny sun!”",
    )
    # a notebook's code: its executed output on the notebook page, made safe (no script of any kind)
    notebook = guide / "docs" / "notebooks" / "simple-attention.en.ipynb"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["source"] = [*cell["source"], "\nprint('zebra-notebook-output')\n", *CRAFTED_OUTPUTS]
    notebook.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    build(guide)

    assert "Zebra-definition." in built(guide, "simple-attention")
    svg = next((guide / "site" / "figures" / "simple-attention").glob("weights.light.svg")).read_text(encoding="utf-8")
    assert "Zebra weights" in svg
    notebook_page = BeautifulSoup(built(guide, "notebooks/simple-attention"), "html.parser")
    assert "zebra-notebook-output" in notebook_page.get_text()
    assert [b.get_text() for b in notebook_page.find_all("b") if "zebra" in b.get_text()] == ["zebra-html"]
    assert not [s for s in notebook_page.find_all("script") if "zebraScript" in s.get_text()]
    assert not notebook_page.find_all(attrs={"onmouseover": True})


def test_an_edit_of_code_a_page_includes_shows_after_a_warm_rebuild(guide: Path) -> None:
    edit(
        guide / "src" / "attn_examples" / "simple.py",
        'TOKENS = ("Hello", "shiny", "sun!")',
        'TOKENS = ("Hello", "shiny", "sun!")  # zebra-snippet',
    )
    build(guide)
    assert "zebra-snippet" in built(guide, "simple-attention")
