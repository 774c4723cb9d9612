"""Lighthouse (from npm, with Debian's Chromium) on the home page and the heaviest chapter of each language.

Both of Lighthouse's presets: desktop, and its default, a mid-range phone (a 4x slower CPU and slow
4G, simulated), the site served gzip-compressed as static hosts serve it. Targets (TARGETS):
accessibility 1.00 everywhere; performance 0.95 on the desktop home pages (measured 1.00), 0.90 on the
desktop heaviest chapter, and 0.65 on the phone, home pages and heaviest chapter alike.

The performance score depends on the machine's speed of the day as much as on the pages. The same
commit (f49d0c0, whose landing passed 0.90 on the phone's home pages, medians then 0.94-0.97) measured
medians of 0.80-0.91 there on 7 December 2026 in the evening, with Total Blocking Time of 180-780 ms at
the phone's speed, and so did the next commit; the heaviest chapter (now tiny-gpt, its 16-head figure
and two explorers' scripts not loaded there) measured medians of 0.79-0.84 on the phone (single runs
0.79-0.86) and 0.95-0.98 on the desktop (single runs 0.95-1.00), where 0.95 had no margin left; a
later audit measured phone medians of 0.75-0.84 on the heaviest chapter and 0.82-0.90 on the home pages.
The targets sit 0.05-0.10 below the lowest median seen: a page that gains a heavy script or a layout
shift still fails them. What holds the phone's scores down is Material's start-up work on a long page
(styling the whole page, mounting its components: tasks of 120-450 ms at the phone's speed) and
fetching the HTML on slow 4G; without KaTeX's HTML (its MathML alone) the efficient-attention page
measured 0.95-0.96.

Lighthouse's performance score moves between runs, so its target is met by the median of three
runs: the audit stops after two runs that lie on the same side of the target (the third could not
change the median), and runs the third otherwise. The accessibility score is not timed (axe on the
loaded page): the first run measures it, the others measure performance alone. Every run's scores
and metrics, and the medians, are written to test-results/lighthouse/ for the record.
``lighthouse.mjs`` runs Lighthouse through its Node API, a new Chromium for each run.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import statistics
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Protocol

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS
from tests.browser.test_pages_in_browser import url_of
from tests.site_checks.layout import LANGUAGES, PAGES, ROOT, built_page
from tests.site_checks.page_weight import page_weight

pytestmark = [pytest.mark.browser, pytest.mark.audit]

RUNNER = ROOT / "tests" / "browser" / "lighthouse.mjs"
PRESETS = ("desktop", "mobile")
PAGES_AUDITED = ("home", "heaviest chapter")
TIMED = "performance"  # the category whose score depends on the machine's speed
TARGETS = {
    (preset, which): {
        "performance": {"mobile": 0.65, "desktop": 0.95 if which == "home" else 0.90}[preset],
        "accessibility": 1.0,
    }
    for preset in PRESETS
    for which in PAGES_AUDITED
}
RUNS = 3
RUN_TIMEOUT_S = 180  # one Lighthouse run, as the command line was given before
CHAPTERS = [stem for stem in PAGES if stem not in ("index", "glossary", "translation-status")]


def heaviest_chapter(lang: str) -> str:
    return max(CHAPTERS, key=lambda stem: page_weight(built_page(stem, lang)))


@dataclass(frozen=True)
class Run:
    """One Lighthouse run: its category scores and the metrics the performance score weighs."""

    scores: dict[str, float]
    metrics: dict[str, float]


class Audit(Protocol):
    def __call__(self, url: str, preset: str, categories: list[str]) -> Run: ...


@pytest.fixture(scope="session")
def lighthouse() -> Iterator[Audit]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: `make test` needs Node.js for npm and Lighthouse", pytrace=False)
    flags = ["--headless=new", *CHROMIUM_FLAGS]
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM), "CHROME_FLAGS": json.dumps(flags)}
    runner = subprocess.Popen(
        [node, str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert runner.stdin is not None and runner.stdout is not None

    def audit(url: str, preset: str, categories: list[str]) -> Run:
        runner.stdin.write(json.dumps({"url": url, "preset": preset, "categories": categories}) + "\n")
        runner.stdin.flush()
        if not select.select([runner.stdout], [], [], RUN_TIMEOUT_S)[0]:  # one answer line per request
            runner.kill()
            raise AssertionError(f"lighthouse gave no result on {url} within {RUN_TIMEOUT_S} s")
        line = runner.stdout.readline()
        if not line:
            raise AssertionError(f"the Lighthouse runner stopped (exit code {runner.wait(timeout=30)})")
        answer = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"lighthouse ({preset}) failed on {url}: {answer['error'][-2000:]}")
        return Run(
            scores={name: float(score) for name, score in answer["scores"].items()},
            metrics={name: round(float(value), 1) for name, value in answer["metrics"].items()},
        )

    yield audit
    runner.stdin.close()
    runner.wait(timeout=60)


def median_scores(audit: Audit, url: str, preset: str, targets: dict[str, float]) -> tuple[dict[str, float], list[Run]]:
    """Scores that lie on the same side of each target as the median of RUNS runs, and every run.

    After two runs that fall on the same side of the performance target, a third cannot move the
    median across it: the lower of the two is reported then (for a pass, the median is at least that).
    """
    runs = [audit(url, preset, list(targets)), audit(url, preset, [TIMED])]
    timed = [run.scores[TIMED] for run in runs]
    if (timed[0] >= targets[TIMED]) != (timed[1] >= targets[TIMED]):
        runs += [audit(url, preset, [TIMED]) for _ in range(RUNS - 2)]
        timed = [run.scores[TIMED] for run in runs]
        performance = statistics.median(timed)
    else:
        performance = min(timed)
    return {**runs[0].scores, TIMED: performance}, runs


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("which", PAGES_AUDITED)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_lighthouse_scores(lighthouse: Audit, base_url: str, lang: str, which: str, preset: str) -> None:
    stem = "" if which == "home" else heaviest_chapter(lang)
    targets = TARGETS[preset, which]
    scores, runs = median_scores(lighthouse, url_of(base_url, lang, stem), preset, targets)
    record = SCREENSHOTS / "lighthouse" / f"{lang}-{stem or 'home'}-{preset}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps(
            {
                "lang": lang,
                "page": stem or "index",
                "preset": preset,
                "median": scores,
                "runs": [asdict(run) for run in runs],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    for category, target in targets.items():
        assert scores[category] >= target, (
            f"{category} {scores[category]:.2f} (runs: {[run.scores.get(category) for run in runs]}) < {target}"
            f" on {lang} {stem or 'home'} ({preset})"
        )
