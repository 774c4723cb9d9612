"""A warm rebuild never serves stale output: each edit a writer makes shows in the rebuilt page.

The build keeps rendered pages, highlighted code, glossary links, figures and notebook outputs in
``.cache/`` (CONTRIBUTING.md lists the keys). In a scratch copy of the guide that starts with this
checkout's caches, the site is built, then each kind of input is edited and the site rebuilt with
the same caches: the edit must show. English alone (``BUILD_TRANSLATIONS=false``) keeps it quick;
the caches are the same code paths for every language. The scratch copy's own packages are put
first on ``PYTHONPATH``, so that the figures and notebooks run the edited code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.site_checks.layout import ROOT

pytestmark = pytest.mark.site

COPIED = ["docs", "src", "attn-site", "overrides", "mkdocs.yml"]


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "node_modules" / "katex").is_dir():
        pytest.fail("node_modules is missing: run `make setup`", pytrace=False)
    copy = tmp_path_factory.mktemp("guide")
    for name in COPIED:
        source = ROOT / name
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
        shutil.copytree(source, copy / name, ignore=ignore) if source.is_dir() else shutil.copy2(source, copy / name)
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    if (ROOT / ".cache").is_dir():
        shutil.copytree(ROOT / ".cache", copy / ".cache")
    build(copy)
    return copy


def build(guide: Path) -> None:
    env = {
        **os.environ,
        "BUILD_TRANSLATIONS": "false",
        "NO_MKDOCS_2_WARNING": "1",
        "PYTHONPATH": os.pathsep.join([str(guide / "src"), str(guide / "attn-site" / "src")]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"],
        cwd=guide,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


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
    # a figure's words: the title drawn inside the SVG
    edit(
        guide / "attn-site" / "src" / "attn_site" / "figures.yml",
        "en: Attention weights of “Hello shiny sun!”",
        "en: Zebra weights of “Hello shiny sun!”",
    )
    # a notebook's code: its executed output on the notebook page
    notebook = guide / "docs" / "notebooks" / "simple-attention.en.ipynb"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["source"] = [*cell["source"], "\nprint('zebra-notebook-output')\n"]
    notebook.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    build(guide)

    assert "Zebra-definition." in built(guide, "simple-attention")
    svg = next((guide / "site" / "figures" / "simple-attention").glob("weights.light.svg")).read_text(encoding="utf-8")
    assert "Zebra weights" in svg
    assert "zebra-notebook-output" in built(guide, "notebooks/simple-attention")


def test_an_edit_of_code_a_page_includes_shows_after_a_warm_rebuild(guide: Path) -> None:
    edit(
        guide / "src" / "attn_examples" / "simple.py",
        'TOKENS = ("Hello", "shiny", "sun!")',
        'TOKENS = ("Hello", "shiny", "sun!")  # zebra-snippet',
    )
    build(guide)
    assert "zebra-snippet" in built(guide, "simple-attention")
