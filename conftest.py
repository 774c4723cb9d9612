"""Run every code example on every English page of the guide (Sybil).

* ``pycon`` blocks are doctests: each line's shown output is checked.
* ``python`` blocks are executed as shown. A block that includes code from
  ``src/`` with a snippet line (``--8<-- "src/...:section"``) runs the included
  section, so what a reader copies from a page is exactly what was run.

The examples of one page share a namespace, in page order, so they stay on one xdist worker: so do
the tests of every other file but the site and browser checks, which share nothing between tests and
are spread over the workers one by one (most of the suite's time is in them).

Translations carry the same code blocks as the English page, character for character
(tests/site_checks/test_sources.py fails otherwise), so running the English ones runs them all. The
lab notebooks run in the build, once for all five languages: a failing cell fails ``make build``
(the site's plugin ``attn/notebooks``).
"""

from __future__ import annotations

import doctest
import importlib.util
import os
from pathlib import Path

import pytest
import torch
from sybil import Example, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

from attn_site.listings import expand_snippets

ROOT = Path(__file__).resolve().parent
# a warm run does not repeat the slowest groups of tests on inputs they already passed on (tests/reuse.py)
pytest_plugins = ["tests.reuse"]

# Without CUDA, the Triton kernels (module tests, doctests and page examples alike) run in Triton's
# interpreter on CPU tensors. It is chosen when a kernel is defined, so set it before any is.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# the optional extra "triton": without it, its module cannot be imported (its tests skip themselves)
collect_ignore = [] if importlib.util.find_spec("triton") else ["src/attn_examples/triton_flash.py"]


def run_python_block(example: Example) -> None:
    source = expand_snippets(ROOT, example.parsed)
    exec(compile(source, str(example.path), "exec"), example.namespace)


class PyconBlockParser(PythonCodeBlockParser):
    """Doctest examples in ```pycon fences (PythonCodeBlockParser only looks at ```python)."""

    def __init__(self) -> None:
        super().__init__(doctest_optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        self.codeblock_parser = CodeBlockParser("pycon", PythonEvaluator())


pytest_collect_file = Sybil(
    parsers=[PyconBlockParser(), CodeBlockParser("python", run_python_block)],
    patterns=["*.en.md"],
    path="docs",
).pytest()


# checks whose tests share almost no fixture wider than a function (test_notebooks_plugin's two-language
# build, a few seconds, may then run once on each worker): spread over the workers test by test
SPREAD = ("tests/browser/", "tests/site_checks/")


class _FilesTogetherChecksSpread(LoadScopeScheduling):
    """xdist's ``loadfile``, except that the tests of SPREAD are handed to the workers one by one."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return nodeid if path.startswith(SPREAD) else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadScopeScheduling | None:
    """With ``--dist=loadfile`` (pyproject.toml): each file's tests on one worker, but for SPREAD."""
    return _FilesTogetherChecksSpread(config, log) if config.getvalue("dist") == "loadfile" else None
