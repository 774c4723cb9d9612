"""Translation freshness on the site: the banner of attn/translations (attn_site.plugins.translations) and the
status page."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from attn_site import i18n
from attn_site.plugins.translations.plugin import BANNERS, TranslationsPlugin
from attn_site.words import words_for
from tests.site_checks.layout import DOCS, LANGUAGES, SITE, TRANSLATIONS


def _page(src_uri: str, url: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri), url=url)


def _config(docs: Path, lang: str) -> SimpleNamespace:
    """The configuration of ``lang``'s build as the plugin reads it (the i18n plugin's current language)."""
    locales = ["en", *TRANSLATIONS]
    i18n_plugin = SimpleNamespace(
        current_language=lang,
        config=SimpleNamespace(languages=[SimpleNamespace(locale=x, default=x == "en", build=True) for x in locales]),
    )
    plugins = SimpleNamespace(get=lambda name: i18n_plugin if name == "i18n" else None)
    return SimpleNamespace(docs_dir=str(docs), plugins=plugins, theme={"language": "en"})


def _plugin() -> TranslationsPlugin:
    plugin = TranslationsPlugin()
    errors, _ = plugin.load_config({})
    assert not errors
    return plugin


@pytest.mark.parametrize("lang", TRANSLATIONS)
def test_an_outdated_translation_gets_a_banner_in_its_language(tmp_path: Path, lang: str) -> None:
    (tmp_path / "chapter.en.md").write_text("# Chapter\n", encoding="utf-8")
    translated = tmp_path / f"chapter.{lang}.md"
    translated.write_text("# Capitolo\n", encoding="utf-8")
    plugin, config = _plugin(), _config(tmp_path, lang)
    page = _page(f"chapter.{lang}.md", f"{lang}/chapter/")
    i18n.stamp(translated, tmp_path / "chapter.en.md")
    assert plugin.on_page_content("<p>x</p>", page=page, config=config, files=None) == "<p>x</p>"
    (tmp_path / "chapter.en.md").write_text("# Chapter, revised\n", encoding="utf-8")
    banner = BeautifulSoup(plugin.on_page_content("<p>x</p>", page=page, config=config, files=None), "html.parser")
    title = banner.select_one(".translation-outdated .admonition-title").get_text()
    assert title == words_for(lang)["outdated_banner"]["title"]
    link = banner.select_one(".translation-outdated a")
    assert link["href"] == "../../chapter/" and link["hreflang"] == "en"
    assert link.get_text() == words_for(lang)["outdated_banner"]["link"]
    # a translation never stamped still holds the English text: its own banner says so
    translated.write_text("# Chapter\n", encoding="utf-8")
    banner = BeautifulSoup(plugin.on_page_content("<p>x</p>", page=page, config=config, files=None), "html.parser")
    title = banner.select_one(".translation-untranslated .admonition-title").get_text()
    assert title == words_for(lang)["untranslated_banner"]["title"]
    # the English page itself never gets one
    english = _page("chapter.en.md", "chapter/")
    assert plugin.on_page_content("<p>x</p>", page=english, config=_config(tmp_path, "en"), files=None) == "<p>x</p>"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_marker_becomes_the_status_table_in_the_language_built(tmp_path: Path, lang: str) -> None:
    (tmp_path / "chapter.en.md").write_text("# Chapter\n", encoding="utf-8")
    markdown = _plugin().on_page_markdown(
        "# Status\n\n<!-- translation-status -->\n",
        page=_page(f"translation-status.{lang}.md", "translation-status/"),
        config=_config(tmp_path, lang),
        files=None,
    )
    words = words_for(lang)["translation_status"]
    assert f"| {words['page']} | it | zh | ko | vi |" in markdown
    assert f"| `chapter.md` | {words['missing']} | {words['missing']} |" in markdown


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_page_lists_every_page_and_notebook(lang: str) -> None:
    page = SITE / ("" if lang == "en" else lang) / "translation-status" / "index.html"
    rows = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select("article table tbody tr")
    expected = {(t.stem, t.suffix) for t in i18n.status(DOCS)}
    assert len(rows) == len(expected)
    words = {words_for(lang)["translation_status"][state] for state in i18n.STATES}
    for row in rows:
        cells = [td.get_text(strip=True) for td in row.find_all("td")]
        assert len(cells) == 1 + len(TRANSLATIONS) and set(cells[1:]) <= words


@pytest.mark.site
def test_banners_are_shown_exactly_on_outdated_and_untranslated_pages() -> None:
    for t in i18n.status(DOCS):
        if t.state == "missing":
            continue
        folder = f"notebooks/{t.stem}" if t.suffix == ".ipynb" else ("" if t.stem == "index" else t.stem)
        html = (SITE / t.lang / folder / "index.html").read_text(encoding="utf-8")
        for state in BANNERS:
            assert (f"translation-{state}" in html) == (t.state == state), (t.stem, t.suffix, t.lang)
