"""hooks/math_prerender.py: formulas of Markdown pages are typeset at build time, by KaTeX."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from tests.site_checks.layout import LANGUAGES, PAGES, ROOT, built_page

_spec = importlib.util.spec_from_file_location("math_prerender", ROOT / "hooks" / "math_prerender.py")
hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hook)


def _page(src_uri: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def test_formulas_become_katex_html_and_mathml() -> None:
    content = (
        '<p>Let <span class="arithmatex">\\(x &lt; \\sqrt{d}\\)</span>.</p><div class="arithmatex">\\[a_i\\]</div>'
    )
    out = hook.on_post_page(content, _page("a.en.md"), None)
    soup = BeautifulSoup(out, "html.parser")
    inline, display = soup.select(".arithmatex")
    assert inline.select_one(".katex annotation").get_text() == "x < \\sqrt{d}"
    assert display.select_one(".katex-display") is not None and inline.select_one(".katex-display") is None
    assert "\\(" not in out and "\\[" not in out


def test_notebook_pages_are_left_to_the_browser() -> None:
    content = '<span class="arithmatex">\\(x\\)</span>'
    assert hook.on_post_page(content, _page("notebooks/lab.en.ipynb"), None) == content


def test_invalid_tex_fails_the_build_naming_the_page() -> None:
    with pytest.raises(hook.PluginError, match=r"chapter\.it\.md.*\\frac"):
        hook.on_post_page('<span class="arithmatex">\\(\\frac{1}\\)</span>', _page("chapter.it.md"), None)


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", PAGES)
def test_built_pages_carry_typeset_math_and_no_katex_script(stem: str, lang: str) -> None:
    soup = BeautifulSoup(built_page(stem, lang).read_text(encoding="utf-8"), "html.parser")
    for formula in soup.select(".arithmatex"):
        assert formula.select_one(".katex") is not None, f"not typeset: {formula.get_text()[:80]}"
    scripts = [s["src"] for s in soup.find_all("script", src=True)]
    assert not any("katex" in src for src in scripts), scripts
