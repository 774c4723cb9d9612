"""The figures drawn at build time (hooks/attention_figures.py): on every chapter, in every language."""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from attn_site.figures import FIGURES, text_for
from tests.site_checks.layout import LANGUAGES, NOTEBOOKS, ROOT, SITE, built_page

_spec = importlib.util.spec_from_file_location("attention_figures", ROOT / "hooks" / "attention_figures.py")
hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hook)

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
    expected = [f.name for f in FIGURES if f.name.startswith(chapter + "/")]
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
        assert text_for(name, lang)("title") in words, f"{svg} is not in {lang}"


@pytest.mark.parametrize("edited", ["src/attn_examples/simple.py", "attn-site/src/attn_site/figures.yml"])
def test_the_cache_key_follows_the_code_and_the_words(tmp_path: Path, edited: str) -> None:
    for package in ("src/attn_examples", "attn-site/src/attn_site"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    before = hook._key(tmp_path)
    assert hook._key(tmp_path) == before
    (tmp_path / edited).write_text((tmp_path / edited).read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert hook._key(tmp_path) != before


def test_drawn_figures_are_reused_and_added_under_the_language_prefix(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    folder = tmp_path / hook.CACHE / hook._key(tmp_path)
    for lang in ("en", "it"):
        (folder / lang / "chapter").mkdir(parents=True)
        (folder / lang / "chapter" / "w.light.svg").write_text("<svg/>")
    (folder / hook.COMPLETE).touch()
    monkeypatch.setattr(hook.subprocess, "Popen", lambda *a, **k: pytest.fail("drew again"))
    monkeypatch.setattr(hook, "build_order", lambda config: ["en", "it"])
    for lang, dest in (("en", "figures/chapter/w.light.svg"), ("it", "it/figures/chapter/w.light.svg")):
        config = SimpleNamespace(
            config_file_path=str(tmp_path / "mkdocs.yml"),
            theme={"language": lang},
            site_dir=str(tmp_path / "site"),
            use_directory_urls=True,
            plugins=SimpleNamespace(_current_plugin=None),
        )
        files = hook.on_files([], config)
        assert [(f.src_uri, f.dest_uri) for f in files] == [("figures/chapter/w.light.svg", dest)]


def test_a_failing_drawing_fails_the_build(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "src").mkdir()
    failing = SimpleNamespace(returncode=1, communicate=lambda: ("", "Traceback: boom"))
    monkeypatch.setattr(hook.subprocess, "Popen", lambda *a, **k: failing)
    hook.on_config(SimpleNamespace(config_file_path=str(tmp_path / "mkdocs.yml")))  # starts drawing
    with pytest.raises(hook.PluginError, match="boom"):
        hook._drawn(tmp_path)
    assert hook._drawing is None
