"""Translation freshness on the site: the banner of hooks/translation_status.py and the status page."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from attn_site import i18n
from tests.site_checks.layout import DOCS, LANGUAGES, ROOT, SITE, TRANSLATIONS

_spec = importlib.util.spec_from_file_location("translation_status", ROOT / "hooks" / "translation_status.py")
hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hook)


def _page(src_uri: str, url: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri), url=url)


@pytest.mark.parametrize("lang", TRANSLATIONS)
def test_an_outdated_translation_gets_a_banner_in_its_language(tmp_path: Path, lang: str) -> None:
    (tmp_path / "chapter.en.md").write_text("# Chapter\n", encoding="utf-8")
    translated = tmp_path / f"chapter.{lang}.md"
    translated.write_text("# Capitolo\n", encoding="utf-8")
    config = SimpleNamespace(docs_dir=str(tmp_path))
    page = _page(f"chapter.{lang}.md", f"{lang}/chapter/")
    i18n.stamp(translated, tmp_path / "chapter.en.md")
    assert hook.on_page_content("<p>x</p>", page, config, None) == "<p>x</p>"
    (tmp_path / "chapter.en.md").write_text("# Chapter, revised\n", encoding="utf-8")
    banner = BeautifulSoup(hook.on_page_content("<p>x</p>", page, config, None), "html.parser")
    title = banner.select_one(".translation-outdated .admonition-title").get_text()
    assert title == hook.BANNER[lang][0]
    link = banner.select_one(".translation-outdated a")
    assert link["href"] == "../../chapter/" and link["hreflang"] == "en"
    # the English page itself never gets one
    english = _page("chapter.en.md", "chapter/")
    assert hook.on_page_content("<p>x</p>", english, config, None) == "<p>x</p>"


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_page_lists_every_page_and_notebook(lang: str) -> None:
    page = SITE / ("" if lang == "en" else lang) / "translation-status" / "index.html"
    rows = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select("article table tbody tr")
    expected = {(t.stem, t.suffix) for t in i18n.status(DOCS)}
    assert len(rows) == len(expected)
    words = set(hook.STATE_WORDS[lang].values())
    for row in rows:
        cells = [td.get_text(strip=True) for td in row.find_all("td")]
        assert len(cells) == 1 + len(TRANSLATIONS) and set(cells[1:]) <= words


@pytest.mark.site
def test_banners_are_shown_exactly_on_outdated_translations() -> None:
    for t in i18n.status(DOCS):
        if t.state == "missing":
            continue
        folder = f"notebooks/{t.stem}" if t.suffix == ".ipynb" else ("" if t.stem == "index" else t.stem)
        html = (SITE / t.lang / folder / "index.html").read_text(encoding="utf-8")
        assert ("translation-outdated" in html) == (t.state == "outdated"), (t.stem, t.suffix, t.lang)
