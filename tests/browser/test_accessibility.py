"""axe-core (from npm, pinned by package-lock.json) in Chromium: no serious or critical violation
on any type of page, in any language."""

from __future__ import annotations

import pytest

from tests.browser.conftest import visit
from tests.browser.test_pages_in_browser import url_of
from tests.site_checks.layout import DEFAULT_LANGUAGE, LANGUAGES, ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# one page of every kind: home, a chapter with math, code and figures, a notebook, the glossary, tables,
# generated tables, an included generated table with links, the interactive explorer
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
# the pages whose colours the dark scheme changes most: highlighted code, figures, notebook outputs, the heatmap
DARK_PAGE_TYPES = ["causal-attention", "notebooks/causal-attention", "explorer"]
BLOCKING = ("serious", "critical")


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
               .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return [f"{v['impact']} {v['id']}: {v['nodes']}" for v in found if v["impact"] in BLOCKING]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", PAGE_TYPES)
def test_no_serious_accessibility_violation(page, base_url: str, lang: str, stem: str) -> None:
    visit(page, url_of(base_url, lang, stem))
    assert _violations(page) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_not_found_page_has_no_serious_accessibility_violation(page, base_url: str, lang: str) -> None:
    visit(page, f"{base_url}/{'' if lang == DEFAULT_LANGUAGE else lang + '/'}404.html")
    assert _violations(page) == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", DARK_PAGE_TYPES)
def test_no_serious_accessibility_violation_in_the_dark_scheme(page, base_url: str, lang: str, stem: str) -> None:
    page.emulate_media(color_scheme="dark")
    visit(page, url_of(base_url, lang, stem))
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
    assert _violations(page) == []
