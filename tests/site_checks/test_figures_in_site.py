"""The figures drawn at build time (attn/figures, attn_site.plugins.figures): on every chapter, in every language."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from mkdocs.exceptions import PluginError

from attn_site.figures import FIGURES, text_for
from attn_site.plugins.cache import DiskCache
from attn_site.plugins.figures.plugin import FiguresPlugin, figures_key
from tests.site_checks.layout import DOCS, LANGUAGES, NOTEBOOKS, ROOT, SITE, built_page

CHAPTERS = [stem.removeprefix("notebooks/") for stem in NOTEBOOKS]


def _served_file(page: Path, src: str) -> Path:
    url = urljoin("/" + page.relative_to(SITE).as_posix(), urlsplit(src).path)
    return SITE / url.lstrip("/")


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_shows_its_figures_in_its_language(chapter: str, lang: str) -> None:
    page = built_page(chapter, lang)
    figures = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all("figure")
    shown = [img for figure in figures for img in figure.find_all("img") if "/figures/" in img["src"]]
    expected = sorted(f.name for f in FIGURES if f.name.startswith(chapter + "/"))
    assert expected, f"{chapter} has no figure in attn_site.figures"
    assert sorted({urlsplit(img["src"]).path.split("/figures/")[1].rsplit(".", 2)[0] for img in shown}) == expected
    for img in shown:
        scheme = urlsplit(img["src"]).fragment
        assert scheme in ("only-light", "only-dark") and img["src"].endswith(f".{scheme[5:]}.svg#{scheme}")
        assert img.get("alt", "").strip(), f"{img['src']} has no alt text"
        assert img.find_parent("figure").find("figcaption") is not None
        svg = _served_file(page, img["src"])
        assert svg.is_file(), f"{img['src']} of {page} is not in the site"
        name = urlsplit(img["src"]).path.split("/figures/")[1].rsplit(".", 2)[0]
        words = {html.unescape(t) for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg.read_text(encoding="utf-8"))}
        assert text_for(name, lang, DOCS)("title") in words, f"{svg} is not in {lang}"


def _config(tmp_path: Path, lang: str, languages: tuple[str, ...] = ("en", "it")) -> SimpleNamespace:
    """The configuration of ``lang``'s build as the plugin reads it (the i18n plugin's current language)."""
    i18n_plugin = SimpleNamespace(
        current_language=lang,
        config=SimpleNamespace(
            languages=[SimpleNamespace(locale=x, default=x == languages[0], build=True) for x in languages]
        ),
    )
    return SimpleNamespace(
        config_file_path=str(tmp_path / "mkdocs.yml"),
        docs_dir=str(tmp_path / "docs"),
        theme={"language": languages[0]},
        site_dir=str(tmp_path / "site"),
        use_directory_urls=True,
        plugins=SimpleNamespace(get=lambda name: i18n_plugin if name == "i18n" else None, _current_plugin=None),
    )


def _plugin(tmp_path: Path) -> FiguresPlugin:
    plugin = FiguresPlugin()
    errors, _ = plugin.load_config({"cache_dir": str(tmp_path / "cache"), "code": ["src"]})
    assert not errors
    plugin.on_startup(command="build", dirty=False)
    return plugin


@pytest.mark.parametrize(
    ("edited", "old", "new"),
    [
        ("src/attn_examples/simple.py", 'TOKENS = ("Hello"', 'TOKENS = ("Hi"'),
        ("attn-site/src/attn_site/words/it.yml", "peso di attenzione", "peso"),
        ("docs/simple-attention.ko.md", "    title: “Hello shiny sun!”", "    title: Hello"),
    ],
)
def test_the_cache_key_follows_the_code_and_the_words(tmp_path: Path, edited: str, old: str, new: str) -> None:
    for folder in ("src/attn_examples", "attn-site/src/attn_site", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "notebooks"))
    folders, docs = ["src", "attn-site/src"], tmp_path / "docs"
    before = figures_key(tmp_path, folders, docs)
    (docs / "glossary.en.md").write_text("# Glossary, edited\n", encoding="utf-8")  # no figure: same key
    assert figures_key(tmp_path, folders, docs) == before
    text = (tmp_path / edited).read_text(encoding="utf-8")
    assert old in text
    (tmp_path / edited).write_text(text.replace(old, new, 1), encoding="utf-8")
    assert figures_key(tmp_path, folders, docs) != before


def test_drawn_figures_are_reused_and_added_under_the_language_prefix(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    cache = DiskCache(tmp_path / "cache" / "figures")
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="300pt" height="150pt"/>'
    key = figures_key(tmp_path, ["src"], tmp_path / "docs")
    for lang in ("en", "it"):
        cache.write_json(DiskCache.key(key, lang), {"chapter/w.light.svg": svg})
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("drew again"))
    plugin = _plugin(tmp_path)
    for lang, dest in (("en", "figures/chapter/w.light.svg"), ("it", "it/figures/chapter/w.light.svg")):
        config = _config(tmp_path, lang)
        plugin.on_config(config)
        files = plugin.on_files([], config=config)
        assert [(f.src_uri, f.dest_uri) for f in files] == [("figures/chapter/w.light.svg", dest)]
        img = '<img alt="w" src="../figures/chapter/w.light.svg#only-light" />'
        sized = plugin.on_page_content(img, page=None, config=config, files=files)
        assert (
            sized
            == '<img alt="w" width="400" height="200" loading="lazy" src="../figures/chapter/w.light.svg#only-light" />'
        )


def test_a_failing_drawing_fails_the_build(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "src").mkdir()
    failing = SimpleNamespace(returncode=1, communicate=lambda: ("", "Traceback: boom"))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: failing)
    plugin = _plugin(tmp_path)
    config = _config(tmp_path, "en")
    plugin.on_config(config)  # starts drawing
    assert plugin.drawing is not None
    out = plugin.drawing[1]
    with pytest.raises(PluginError, match="boom"):
        plugin.on_files([], config=config)
    assert plugin.drawing is None and not out.exists()


def test_a_failed_build_stops_the_drawing(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    plugin = _plugin(tmp_path)
    plugin.on_config(_config(tmp_path, "en"))  # starts drawing every figure, which takes a while
    assert plugin.drawing is not None
    process, out, _ = plugin.drawing
    plugin.on_build_error(error=RuntimeError("a page failed"))
    assert plugin.drawing is None and process.poll() is not None and not out.exists()
    plugin.on_shutdown()  # nothing left to stop
