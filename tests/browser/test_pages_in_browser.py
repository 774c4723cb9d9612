"""The site as a reader sees it, in every language: loads cleanly, renders math, passes axe, switches
language, finds terms."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import axe_violations, settle, visit
from tests.site_checks.layout import DEFAULT_LANGUAGE, LANGUAGES, NOTEBOOKS, PAGES

pytestmark = pytest.mark.browser

# a term that every language's pages use, typed into the search box
SEARCH_TERMS = {"en": "attention", "it": "attenzione", "zh": "注意力", "ko": "어텐션", "vi": "chú ý"}


def url_of(base_url: str, lang: str, stem: str = "") -> str:
    prefix = "" if lang == DEFAULT_LANGUAGE else f"{lang}/"
    return f"{base_url}/{prefix}{stem + '/' if stem else ''}"


# one page of every kind, checked by axe-core (tests/browser/test_accessibility.py has the dark scheme):
# home, a chapter with math, code and figures, a notebook, the glossary, tables, generated tables, an
# included generated table with links, the interactive explorer
PAGE_TYPES = [
    "",
    "causal-attention",
    "notebooks/causal-attention",
    "glossary",
    "benchmarks",
    "translation-status",
    "agreement",
    "explorer",
]
# every page and every lab notebook page
STEMS = ["" if stem == "index" else stem for stem in PAGES] + NOTEBOOKS
# a phone held upright (360 and 390 px) and a tablet (768 px): no page may be wider than the screen
NARROW_WIDTHS = (768, 390, 360)
WITHOUT_MATH = {"", "glossary", "translation-status"}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", STEMS)
def test_page_loads_cleanly_renders_math_and_never_scrolls_sideways(page, base_url: str, lang: str, stem: str) -> None:
    """No console error or request off the machine, rendered math, no display formula wider than the
    text at 1280 px, no page wider than a phone's or a tablet's screen; and for a page of each type, no
    serious or critical accessibility violation (all checked during the same visit: loading is most
    of a browser test's time)."""
    visit(page, url_of(base_url, lang, stem))
    assert page.locator("html").get_attribute("lang") == lang
    if stem not in WITHOUT_MATH:
        page.wait_for_selector(".katex", timeout=10_000)
        assert page.locator(".arithmatex .katex, .jp-MarkdownCell .katex").count() > 0
        unrendered = page.evaluate(
            """() => [...document.querySelectorAll('.arithmatex, .jp-MarkdownCell')]
                     .filter(el => !el.querySelector('.katex') && /\\\\\\(|\\\\\\[|\\$/.test(el.innerText))
                     .map(el => el.innerText.slice(0, 80))"""
        )
        assert unrendered == [], f"raw TeX left on the page: {unrendered}"
    if stem.startswith("notebooks/"):  # the shared JupyterLab stylesheet is loaded and hides the copy buffers
        assert page.evaluate("""() => [...document.querySelectorAll('.clipboard-copy-txt')]
                                      .every(el => getComputedStyle(el).display === 'none')""")
    assert page.watched.console_errors == []
    assert page.watched.offsite_requests == []
    if stem in PAGE_TYPES:
        assert axe_violations(page) == []
    too_wide = page.evaluate(  # at 1280 px the text column holds every display formula whole
        """() => [...document.querySelectorAll('div.arithmatex')].filter(el => el.scrollWidth > el.clientWidth + 1)
                 .map(el => (el.querySelector('annotation') || el).textContent.trim().slice(0, 60))"""
    )
    assert too_wide == [], f"display formulas that scroll at 1280 px: {too_wide}"
    for width in NARROW_WIDTHS:  # wide formulas, tables and code scroll inside their own boxes
        page.set_viewport_size({"width": width, "height": 800})
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"the page is {scroll_width} px wide on a {width} px screen"


def test_every_page_type_is_loaded_and_checked_by_axe() -> None:
    assert set(PAGE_TYPES) <= set(STEMS)


@pytest.mark.parametrize("target", [lang for lang in LANGUAGES if lang != "en"] + ["en"])
def test_language_switcher_keeps_the_chapter_and_the_section(page, base_url: str, target: str) -> None:
    start = "it" if target == "en" else "en"
    visit(page, url_of(base_url, start, "simple-attention") + "#the-code")
    page.hover(".md-header__option .md-select")
    page.click(f".md-select__link[hreflang='{target}']")
    page.wait_for_url(url_of(base_url, target, "simple-attention") + "#the-code")
    settle(page)
    assert page.locator("html").get_attribute("lang") == target
    assert page.watched.console_errors == []


def _in_language(href: str, base_url: str, lang: str) -> bool:
    """Whether a result URL is a page of ``lang`` (English pages live at the root)."""
    if lang != DEFAULT_LANGUAGE:
        return href.startswith(url_of(base_url, lang))
    return not any(href.startswith(url_of(base_url, other)) for other in LANGUAGES if other != lang)


def _search(page, query: str) -> list[str]:
    """The result links that Material's search shows for ``query``, read at once (Material redraws the list)."""
    search = page.locator(".md-search__input")
    search.fill("")
    search.press("End")  # Material searches on key events, not on fill alone: this clears the last results
    page.wait_for_function("() => !document.querySelector('.md-search-result__item')")
    for _ in range(10):  # the first query can come before the search index is loaded: retry
        search.fill(query)
        search.press("End")
        try:
            page.locator(".md-search-result__item a").first.wait_for(timeout=1_000)
            break
        except PlaywrightTimeout:
            search.fill("")
    links = ".md-search-result__item a"
    return page.eval_on_selector_all(links, "links => links.map(a => a.getAttribute('href') || '')")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_search_finds_pages_in_the_readers_language_alone(page, base_url: str, lang: str) -> None:
    """An English term and a term of the page's language both find pages, every one in that language."""
    visit(page, url_of(base_url, lang, "glossary"))
    for query in ("softmax", SEARCH_TERMS[lang]):
        hrefs = _search(page, query)
        assert hrefs, f"no results for {query!r} in {lang}"
        elsewhere = [href for href in hrefs if not _in_language(href, base_url, lang)]
        assert elsewhere == [], f"search for {query!r} in {lang} found pages of other languages: {elsewhere}"
    assert page.watched.console_errors == []
    assert page.watched.offsite_requests == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_not_found_page_is_styled_and_leads_home_in_its_language(page, base_url: str, lang: str) -> None:
    visit(page, f"{base_url}/{'' if lang == DEFAULT_LANGUAGE else lang + '/'}404.html")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator(".md-header").is_visible()  # Material's stylesheet and scripts loaded
    page.click("article a")
    page.wait_for_url(url_of(base_url, lang))
    settle(page)
    assert page.watched.console_errors == []
    assert page.watched.offsite_requests == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_glossary_terms_show_their_definition_on_focus(page, base_url: str, lang: str) -> None:
    visit(page, url_of(base_url, lang, "causal-attention"))
    term = page.locator("article a.glossary-term").first
    definition = term.get_attribute("title")  # Material moves it into its tooltip on first use
    term.focus()
    tooltip = page.locator(".md-tooltip2--active")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert tooltip.inner_text().strip() == definition
    term.click()
    page.wait_for_url(re.compile(r"/glossary/#"))
    settle(page)
    assert page.watched.console_errors == []
