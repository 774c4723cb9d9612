"""One search index per language, at its language's root, holding that language's pages alone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

from attn_site.plugins.glossary.terms import glossary_terms
from tests.site_checks.layout import DEFAULT_LANGUAGE, DOCS, LANGUAGES, NOTEBOOKS, PAGES, SITE, built_page

pytestmark = pytest.mark.site


def language_root(lang: str) -> Path:
    return SITE if lang == DEFAULT_LANGUAGE else SITE / lang


def index_of(lang: str) -> dict:
    return json.loads((language_root(lang) / "search" / "search_index.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_indexes_its_own_pages_alone(lang: str) -> None:
    index = index_of(lang)
    assert index["config"]["lang"] == (["en"] if lang == "en" else ["en", lang])  # English terms found everywhere
    pages = {doc["location"].split("#")[0] for doc in index["docs"]}
    expected = {"" if stem == "index" else f"{stem}/" for stem in PAGES}  # notebook pages are not indexed
    assert pages == expected  # relative to the language's root: every page of the language, and nothing else
    with_tex = [doc["location"] for doc in index["docs"] if re.search(r"\\[(\[]|\\frac|\\top", doc["text"])]
    assert with_tex == [], f"search results would show TeX: {with_tex[:5]}"
    with_listings = [doc["location"] for doc in index["docs"] if "<pre>" in doc["text"]]
    assert with_listings == [], f"code listings in the index (the prose and inline code alone): {with_listings[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_english_name_of_every_glossary_term_is_found_in_every_language(lang: str) -> None:
    """A reader who knows a term from English sources finds it in any language (the glossary's table)."""
    words = {word.lower() for doc in index_of(lang)["docs"] for word in re.findall(r"[\w-]+", doc["text"])}
    names = [term.name for term in glossary_terms(DOCS, DEFAULT_LANGUAGE)]
    missing = [name for name in names if not {word.lower() for word in re.findall(r"[\w-]+", name)} <= words]
    assert missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_load_the_index_of_their_language(lang: str) -> None:
    """Material loads ``search/search_index.json`` relative to the ``base`` of the page's configuration."""
    for stem in ("index", "simple-attention", NOTEBOOKS[0], "404"):
        path = language_root(lang) / "404.html" if stem == "404" else built_page(stem, lang)
        html = path.read_text(encoding="utf-8")
        config = json.loads(re.search(r'<script id="__config" type="application/json">(.*?)</script>', html).group(1))
        page_url = "http://site/" + path.relative_to(SITE).as_posix().removesuffix("index.html")
        root = "http://site/" if stem == "404" else page_url  # the "not found" page is served at any depth
        base = urljoin(urljoin(root, config["base"]), ".")
        expected = "http://site/" if lang == DEFAULT_LANGUAGE else f"http://site/{lang}/"
        assert base == expected, f"{path.relative_to(SITE)} searches {base}"
