"""axe-core (from npm, pinned by package-lock.json) in Chromium: no serious or critical violation
on any type of page, in any language, in both colour schemes.

In the light scheme, the page types of ``PAGE_TYPES`` are checked where the page-load test opens
them (``test_pages_in_browser.py``), so that each page is loaded once; the not-found page and the
dark scheme are checked here.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, visit
from tests.browser.test_pages_in_browser import url_of
from tests.site_checks.layout import DEFAULT_LANGUAGE, LANGUAGES

pytestmark = pytest.mark.browser

# the pages whose colours the dark scheme changes most: highlighted code, figures, notebook outputs, the heatmap
DARK_PAGE_TYPES = ["causal-attention", "notebooks/causal-attention", "explorer"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_not_found_page_has_no_serious_accessibility_violation(page, base_url: str, lang: str) -> None:
    visit(page, f"{base_url}/{'' if lang == DEFAULT_LANGUAGE else lang + '/'}404.html")
    assert axe_violations(page) == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", DARK_PAGE_TYPES)
def test_no_serious_accessibility_violation_in_the_dark_scheme(page, base_url: str, lang: str, stem: str) -> None:
    page.emulate_media(color_scheme="dark")
    visit(page, url_of(base_url, lang, stem))
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
    assert axe_violations(page) == []
