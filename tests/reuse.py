"""A warm ``make test`` does not repeat the slowest checks on inputs they have already passed on.

Three groups of tests take most of a run once the site is built: the browser tests (every page
loaded in Chromium), the Lighthouse audits, and the tests that build scratch copies of the guide.
Each group's outcome is a function of files this plugin hashes (the built site, the sources, the
tests themselves) and of the browser installed. After a run in which a whole group passed, its key
(SHA-256 of those inputs) is written to ``.cache/test-results/<group>.json``; a later run whose key
is the same reports the group's tests as skipped, with the date of the run that passed them. Any
change of an input, a run of chosen tests (``-k``, a path, an ``-m`` other than those of ``make
test``), or ``FRESH=1`` (and ``CI=true``: CI runs on a fresh clone, which has no record anyway)
runs the group again; a run of chosen tests records nothing.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / ".cache" / "test-results"
SOURCES = (
    "docs",
    "src",
    "attn-site/src",
    "overrides",
    "mkdocs.yml",
    "tests",
    "conftest.py",
    "pyproject.toml",
    "requirements",
    "package-lock.json",
)


@dataclass(frozen=True)
class Group:
    """Tests whose node ids start with one of ``files``, and the inputs their outcome depends on."""

    name: str
    files: tuple[str, ...]
    inputs: tuple[str, ...]  # paths relative to the repository
    programs: tuple[str, ...] = ()  # executables, identified by their size and modification time

    def holds(self, nodeid: str) -> bool:
        return nodeid.startswith(self.files)


BROWSER_INPUTS = ("site", "tests/browser", "tests/site_checks", "tests/conftest.py", "conftest.py", "package-lock.json")
GROUPS = (
    Group("audit", ("tests/browser/test_lighthouse.py",), BROWSER_INPUTS, ("/usr/bin/chromium",)),
    Group(
        "browser",
        tuple(
            f"tests/browser/{path.name}"
            for path in sorted((ROOT / "tests" / "browser").glob("test_*.py"))
            if path.name != "test_lighthouse.py"
        ),
        BROWSER_INPUTS,
        ("/usr/bin/chromium-headless-shell",),
    ),
    Group("scratch builds", ("tests/site_code/test_new_chapter.py", "tests/site_code/test_warm_rebuilds.py"), SOURCES),
)


def _files(paths: Iterable[str]) -> Iterable[Path]:
    for name in paths:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@functools.cache
def key(group: Group) -> str:
    """SHA-256 of the group's input files (paths and bytes), its programs and this Python."""
    digest = hashlib.sha256(f"{sys.version}\n{Path(__file__).read_bytes()!r}".encode())
    for path in _files(group.inputs):
        digest.update(f"{path.relative_to(ROOT).as_posix()}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    for program in group.programs:
        stat = Path(program).stat() if Path(program).exists() else None
        digest.update(f"{program}\0{stat and (stat.st_size, stat.st_mtime_ns)}".encode())
    return digest.hexdigest()


def _record(group: Group) -> Path:
    return RECORDS / f"{group.name.replace(' ', '-')}.json"


def _fresh() -> bool:
    return any(os.environ.get(name, "").lower() in ("1", "true") for name in ("FRESH", "CI"))


# the marker expressions of `make test`'s two runs: each selects whole groups
WHOLE_GROUP_MARKERS = ("", "not audit", "audit")


def _whole_suite(config: pytest.Config) -> bool:
    """Whether this run selects every test of each group it runs (no -k, no paths, no other -m)."""
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and config.option.markexpr in WHOLE_GROUP_MARKERS
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _fresh() or not _whole_suite(config):  # a run of chosen tests runs them
        return
    for group in GROUPS:
        members = [item for item in items if group.holds(item.nodeid)]
        if not members or not _record(group).is_file():
            continue
        record = json.loads(_record(group).read_text(encoding="utf-8"))
        if record.get("key") != key(group):
            continue
        reason = f"{group.name}: inputs unchanged since they passed on {record['passed_on']} (FRESH=1 runs them)"
        for item in members:
            item.add_marker(pytest.mark.skip(reason=reason))


class _Outcomes:
    """In the process that reports (xdist's controller, or the only one): which groups ran and passed."""

    def __init__(self) -> None:
        self.passed: set[str] = set()
        self.failed: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for group in GROUPS:
            if group.holds(report.nodeid):
                if report.failed:
                    self.failed.add(group.name)
                elif report.passed and report.when == "call":
                    self.passed.add(group.name)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus != 0 or not _whole_suite(session.config):
            return
        today = datetime.date.today().isoformat()
        for group in GROUPS:
            if group.name in self.passed - self.failed:
                RECORDS.mkdir(parents=True, exist_ok=True)
                _record(group).write_text(json.dumps({"key": key(group), "passed_on": today}) + "\n", encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # xdist's workers report to the controller
        config.pluginmanager.register(_Outcomes(), "attn-reuse-outcomes")
