"""hooks/glossary_tooltips.py: every glossary term links, on first use, to its entry with its definition."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest
from bs4 import BeautifulSoup

from tests.site_checks.layout import DOCS, LANGUAGES, PAGES, ROOT, SITE, built_page

_spec = importlib.util.spec_from_file_location("glossary_tooltips", ROOT / "hooks" / "glossary_tooltips.py")
hook = importlib.util.module_from_spec(_spec)
sys.modules["glossary_tooltips"] = hook  # dataclasses look their module up there
_spec.loader.exec_module(hook)

TERMS = [
    hook.Term("attention-head", "attention head", "One of several attentions."),
    hook.Term("attention", "attention", "A weighted average."),
    hook.Term("token", "词元", "一个元素。"),
]


def _links(html: str) -> list[tuple[str, str, str]]:
    return [(a["href"], a["title"], a.text) for a in BeautifulSoup(html, "html.parser").select("a.glossary-term")]


def test_first_use_in_running_text_is_linked_and_nothing_else() -> None:
    html = (
        '<h2>Attention</h2><p><code>attention</code> <a href="x">attention</a> '
        '<span class="arithmatex">attention</span>'
        " attentional attention-like Attention, attention</p><li>each attention head and 词元</li>"
    )
    assert _links(hook.link_terms(html, TERMS, "../glossary/")) == [
        ("../glossary/#attention", "A weighted average.", "Attention"),
        ("../glossary/#attention-head", "One of several attentions.", "attention head"),
        ("../glossary/#token", "一个元素。", "词元"),
    ]


def test_definitions_are_plain_text() -> None:
    assert hook._plain("Weights $\\alpha_i = e^{\\omega_i}$, see [softmax](#softmax) and `torch`.") == (
        "Weights α_i = e^ω_i, see softmax and torch."
    )


def test_every_language_defines_the_same_terms() -> None:
    ids = {lang: {t.id for t in hook.glossary_terms(DOCS, lang)} for lang in LANGUAGES}
    assert len(ids["en"]) > 50
    assert all(found == ids["en"] for found in ids.values())
    assert all(t.name and t.definition for lang in LANGUAGES for t in hook.glossary_terms(DOCS, lang))


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_term_used_on_a_page_links_to_its_definition_there(lang: str) -> None:
    terms = {t.id: t for t in hook.glossary_terms(DOCS, lang)}
    linked_somewhere = set()
    for stem in PAGES:
        if stem == "glossary":
            continue
        html = built_page(stem, lang).read_text(encoding="utf-8")
        article = BeautifulSoup(html, "html.parser").select_one("article")
        links = {a["href"].rsplit("#", 1)[1]: a for a in article.select("a.glossary-term")}
        for term_id, link in links.items():
            assert link["title"] == terms[term_id].definition
            assert link["href"].endswith(f"glossary/#{term_id}")
        # scanning the running text as the hook does, every term it still finds was linked before
        by_name = {t.name.lower(): t for t in terms.values()}
        pattern = re.compile("|".join(hook._alternative(t.name) for t in hook.glossary_terms(DOCS, lang)), re.I)
        for node in hook._text_nodes(article):
            for match in pattern.finditer(node):
                term = by_name[match.group(0).lower()]
                assert term.id in links, f"{term.name!r} is used on {lang}/{stem} but not linked"
        linked_somewhere |= set(links)
    assert len(linked_somewhere) >= len(terms) // 2, sorted(set(terms) - linked_somewhere)


@pytest.mark.site
def test_glossary_links_are_only_on_markdown_pages() -> None:
    assert "glossary-term" not in (SITE / "glossary" / "index.html").read_text(encoding="utf-8")
