"""attn/math (attn_site.plugins.math): formulas of Markdown pages are typeset at build time, by KaTeX."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup
from mkdocs.exceptions import PluginError

from attn_site.plugins.math.plugin import MathPlugin
from tests.site_checks.layout import LANGUAGES, PAGES, ROOT, built_page

FORMULAS = '<p>Let <span class="arithmatex">\\(x &lt; \\sqrt{d}\\)</span>.</p><div class="arithmatex">\\[a_i\\]</div>'


def _page(src_uri: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def _config(tmp_path: Path, lang: str = "en") -> SimpleNamespace:
    """An MkDocs configuration as the plugin reads it: a single-language build of ``lang``."""
    return SimpleNamespace(
        config_file_path=str(tmp_path / "mkdocs.yml"),
        plugins=SimpleNamespace(get=lambda name: None),
        theme={"language": lang},
    )


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[MathPlugin]:
    plugin = MathPlugin()
    errors, _ = plugin.load_config(
        {"cache_dir": str(tmp_path / "cache"), "katex_dir": str(ROOT / "node_modules" / "katex")}
    )
    assert not errors
    plugin.on_startup(command="build", dirty=False)
    plugin.on_config(_config(tmp_path))
    yield plugin
    plugin.on_shutdown()
    assert plugin.node is None


def test_formulas_become_katex_html_and_mathml(plugin: MathPlugin, tmp_path: Path) -> None:
    out = plugin.on_post_page(FORMULAS, _page("a.en.md"), _config(tmp_path))
    assert out is not None
    soup = BeautifulSoup(out, "html.parser")
    inline, display = soup.select(".arithmatex")
    assert inline.select_one(".katex annotation").get_text() == "x < \\sqrt{d}"
    assert display.select_one(".katex-display") is not None and inline.select_one(".katex-display") is None
    assert "\\(" not in out and "\\[" not in out


def test_a_page_typeset_once_is_served_from_the_cache(plugin: MathPlugin, tmp_path: Path, monkeypatch) -> None:
    first = plugin.on_post_page(FORMULAS, _page("a.en.md"), _config(tmp_path))
    plugin.on_shutdown()  # a new build: no formula in memory, no KaTeX process
    plugin.on_config(_config(tmp_path))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("typeset again"))
    assert plugin.on_post_page(FORMULAS, _page("a.it.md"), _config(tmp_path, "it")) == first


def test_notebook_pages_are_left_to_the_browser(plugin: MathPlugin, tmp_path: Path) -> None:
    content = '<span class="arithmatex">\\(x\\)</span>'
    assert plugin.on_post_page(content, _page("notebooks/lab.en.ipynb"), _config(tmp_path)) == content


def test_invalid_tex_fails_the_build_naming_the_page(plugin: MathPlugin, tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"chapter\.it\.md.*\\frac"):
        plugin.on_post_page(
            '<span class="arithmatex">\\(\\frac{1}\\)</span>', _page("chapter.it.md"), _config(tmp_path)
        )


def test_a_failed_build_stops_the_katex_process(plugin: MathPlugin, tmp_path: Path) -> None:
    plugin.on_post_page('<span class="arithmatex">\\(y^2\\)</span>', _page("a.en.md"), _config(tmp_path))
    node = plugin.node
    assert node is not None and node.poll() is None
    plugin.on_build_error(error=RuntimeError("a later page failed"))
    assert plugin.node is None and node.poll() is not None


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", PAGES)
def test_built_pages_carry_typeset_math_and_no_katex_script(stem: str, lang: str) -> None:
    soup = BeautifulSoup(built_page(stem, lang).read_text(encoding="utf-8"), "html.parser")
    for formula in soup.select(".arithmatex"):
        assert formula.select_one(".katex") is not None, f"not typeset: {formula.get_text()[:80]}"
    scripts = [s["src"] for s in soup.find_all("script", src=True)]
    assert not any("katex" in src for src in scripts), scripts
