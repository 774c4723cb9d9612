"""A scratch copy of the guide, for the tests that edit it and build it.

The copy holds what a build reads (and, on request, the tests), starts with this checkout's caches,
shares ``node_modules`` by a link, and runs with its own packages first on ``PYTHONPATH``, so that
the figures, the notebooks and the tests run the copy's code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.site_checks.layout import ROOT

BUILT_FROM = ("docs", "src", "attn-site", "overrides", "translation", "mkdocs.yml")


def copy_guide(copy: Path, also: Iterable[str] = ()) -> Path:
    """Copy the guide (``BUILT_FROM`` and ``also``, paths relative to the repository) and its caches into ``copy``."""
    if not (ROOT / "node_modules" / "katex").is_dir():
        pytest.fail("node_modules is missing: run `make setup`", pytrace=False)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in (*BUILT_FROM, *also):
        source = ROOT / name
        shutil.copytree(source, copy / name, ignore=ignore) if source.is_dir() else shutil.copy2(source, copy / name)
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    if (ROOT / ".cache").is_dir():
        shutil.copytree(ROOT / ".cache", copy / ".cache")
    return copy


def environment(guide: Path, **variables: str) -> dict[str, str]:
    """This process's environment with ``guide``'s packages first on ``PYTHONPATH``, and ``variables``."""
    path = os.pathsep.join([str(guide / "src"), str(guide / "attn-site" / "src"), str(guide)])
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": path, **variables}


def run(guide: Path, *args: str, timeout: int = 600, **variables: str) -> subprocess.CompletedProcess[str]:
    """``python args…`` in ``guide``, with its own packages (:func:`environment`)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=guide,
        env=environment(guide, **variables),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def build(guide: Path, *, translations: bool = False) -> None:
    """``mkdocs build --strict`` in ``guide``: English alone unless ``translations``."""
    result = run(guide, "-m", "mkdocs", "build", "--strict", "--quiet", BUILD_TRANSLATIONS=str(translations).lower())
    assert result.returncode == 0, result.stderr[-3000:]
