"""Lighthouse (from npm, with Debian's Chromium) on the home page and the heaviest chapter of each language.

Targets: performance ≥ 90 and accessibility ≥ 95, with Lighthouse's desktop settings, the site
served gzip-compressed as static hosts serve it. Each run's scores are written to
test-results/lighthouse/ for the record.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS
from tests.browser.test_pages_in_browser import url_of
from tests.site_checks.layout import DEFAULT_LANGUAGE, LANGUAGES, PAGES, ROOT, built_page
from tests.site_checks.page_weight import page_weight

pytestmark = [pytest.mark.browser, pytest.mark.audit]

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
TARGETS = {"performance": 0.90, "accessibility": 0.95}
CHAPTERS = [stem for stem in PAGES if stem not in ("index", "glossary", "translation-status")]


def heaviest_chapter(lang: str) -> str:
    return max(CHAPTERS, key=lambda stem: page_weight(built_page(stem, lang)))


def lighthouse_scores(url: str) -> dict[str, float]:
    flags = " ".join(["--headless=new", *CHROMIUM_FLAGS])
    result = subprocess.run(
        [str(LIGHTHOUSE), url, "--output=json", "--output-path=stdout", "--quiet", "--preset=desktop",
         "--only-categories=performance,accessibility", f"--chrome-flags={flags}"],
        capture_output=True, text=True, timeout=180, env={**os.environ, "CHROME_PATH": str(CHROMIUM)}, check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"lighthouse failed on {url}: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return {name: category["score"] for name, category in report["categories"].items()}


@pytest.mark.parametrize("which", ["home", "heaviest chapter"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_lighthouse_scores(base_url: str, lang: str, which: str) -> None:
    stem = "" if which == "home" else heaviest_chapter(lang)
    scores = lighthouse_scores(url_of(base_url, lang, stem))
    record = SCREENSHOTS / "lighthouse" / f"{lang}-{stem or 'home'}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"lang": lang, "page": stem or "index", **scores}) + "\n", encoding="utf-8")
    for category, target in TARGETS.items():
        assert scores[category] >= target, f"{category} {scores[category]:.2f} < {target} on {lang} {stem or 'home'}"


