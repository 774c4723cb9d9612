"""Lighthouse (from npm, with Debian's Chromium) on the home page and the heaviest chapter of each language.

Targets: performance ≥ 0.90 and accessibility ≥ 0.95, with Lighthouse's desktop settings, the site
served gzip-compressed as static hosts serve it. Lighthouse's performance score moves by about
±0.05 between runs on a loaded 2-core machine, so each target is met by the median of three runs:
the audit stops after two runs when both agree on every category (the third could not change the
median), and runs the third otherwise. Every run's scores, and the medians, are written to
test-results/lighthouse/ for the record. The pages themselves are made to score well above the
targets (0.97–1.00 measured on the heaviest chapter), so the gate keeps its headroom.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS
from tests.browser.test_pages_in_browser import url_of
from tests.site_checks.layout import LANGUAGES, PAGES, ROOT, built_page
from tests.site_checks.page_weight import page_weight

pytestmark = [pytest.mark.browser, pytest.mark.audit]

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
TARGETS = {"performance": 0.90, "accessibility": 0.95}
RUNS = 3
CHAPTERS = [stem for stem in PAGES if stem not in ("index", "glossary", "translation-status")]


def heaviest_chapter(lang: str) -> str:
    return max(CHAPTERS, key=lambda stem: page_weight(built_page(stem, lang)))


def lighthouse_scores(url: str) -> dict[str, float]:
    flags = " ".join(["--headless=new", *CHROMIUM_FLAGS])
    result = subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--output=json",
            "--output-path=stdout",
            "--quiet",
            "--preset=desktop",
            "--only-categories=performance,accessibility",
            f"--chrome-flags={flags}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "CHROME_PATH": str(CHROMIUM)},
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"lighthouse failed on {url}: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return {name: category["score"] for name, category in report["categories"].items()}


def median_scores(url: str) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Scores that lie on the same side of each target as the median of RUNS runs, and every run's scores.

    After two runs that fall on the same side of every target, a third cannot move the median
    across it: the lower of the two is reported then (for a pass, the median is at least that).
    """
    runs = [lighthouse_scores(url), lighthouse_scores(url)]
    agree = all((runs[0][c] >= target) == (runs[1][c] >= target) for c, target in TARGETS.items())
    if agree:
        return {c: min(run[c] for run in runs) for c in runs[0]}, runs
    runs += [lighthouse_scores(url) for _ in range(RUNS - 2)]
    return {c: statistics.median(run[c] for run in runs) for c in runs[0]}, runs


@pytest.mark.parametrize("which", ["home", "heaviest chapter"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_lighthouse_scores(base_url: str, lang: str, which: str) -> None:
    stem = "" if which == "home" else heaviest_chapter(lang)
    scores, runs = median_scores(url_of(base_url, lang, stem))
    record = SCREENSHOTS / "lighthouse" / f"{lang}-{stem or 'home'}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps({"lang": lang, "page": stem or "index", "median": scores, "runs": runs}) + "\n", encoding="utf-8"
    )
    for category, target in TARGETS.items():
        assert scores[category] >= target, (
            f"{category} {scores[category]:.2f} (median of {[run[category] for run in runs]}) < {target}"
            f" on {lang} {stem or 'home'}"
        )
