"""Every page and notebook exists in all languages and has the same skeleton as English."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from attn_site.i18n import state_of
from tests.site_checks.layout import LANGUAGES, NAV, NAV_TRANSLATIONS, NOTEBOOKS, PAGES, TRANSLATIONS, source
from tests.site_checks.markdown_structure import Skeleton, skeleton


def test_the_guide_has_its_pages_and_notebooks() -> None:
    chapters = [
        "simple-attention",
        "averaging-trick",
        "scaled-dot-product",
        "causal-attention",
        "multi-head-attention",
        "cross-attention",
    ]
    assert {"index", "why-attention", "glossary", *chapters} <= set(PAGES)
    assert {f"notebooks/{chapter}" for chapter in chapters} <= set(NOTEBOOKS)


@pytest.mark.parametrize("lang", TRANSLATIONS)
def test_every_title_of_the_nav_has_a_translation(lang: str) -> None:
    missing = [title for title, _ in NAV if title not in NAV_TRANSLATIONS[lang]]
    assert not missing, f"mkdocs.yml: add {missing} to the nav_translations of {lang}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", PAGES)
def test_page_exists_in_every_language(stem: str, lang: str) -> None:
    assert source(stem, lang).is_file(), f"missing translation: {source(stem, lang)}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_exists_in_every_language(stem: str, lang: str) -> None:
    assert source(stem, lang, ".ipynb").is_file()


@pytest.mark.parametrize("lang", TRANSLATIONS)
@pytest.mark.parametrize("stem", PAGES)
@pytest.mark.parametrize("part", [f.name for f in fields(Skeleton)])
def test_translation_keeps_the_skeleton(stem: str, lang: str, part: str) -> None:
    english = getattr(skeleton(source(stem, "en").read_text(encoding="utf-8")), part)
    translated = getattr(skeleton(source(stem, lang).read_text(encoding="utf-8")), part)
    assert translated == english, f"{stem}.{lang}.md differs from English in its {part}"


def test_pages_have_headings_with_explicit_ids() -> None:
    for stem in PAGES:
        headings = skeleton(source(stem, "en").read_text(encoding="utf-8")).headings
        assert headings and all(anchor for _, anchor in headings), f"{stem}: give every heading {{ #id }}"


def _cells(stem: str, lang: str) -> list[dict]:
    return json.loads(source(stem, lang, ".ipynb").read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(stem: str, lang: str) -> None:
    for cell in _cells(stem, lang):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{stem}.{lang}: clear outputs"


@pytest.mark.parametrize("lang", TRANSLATIONS)
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_code_cells_are_identical_across_languages(stem: str, lang: str) -> None:
    english, translated = _cells(stem, "en"), _cells(stem, lang)
    # a notebook never stamped still holds the English text (a new chapter's translations start so)
    translated_yet = state_of(source(stem, "en", ".ipynb"), lang) != "untranslated"
    assert [c["cell_type"] for c in translated] == [c["cell_type"] for c in english]
    for a, b in zip(english, translated, strict=True):
        if a["cell_type"] == "code":
            assert "".join(b["source"]) == "".join(a["source"]), f"{stem}.{lang}: code cell {a.get('id')} differs"
        else:
            assert skeleton("".join(b["source"])).inline_math == skeleton("".join(a["source"])).inline_math
            assert b["source"] != a["source"] or not translated_yet, f"{stem}.{lang}: cell {a.get('id')} not translated"
