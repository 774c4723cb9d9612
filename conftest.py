"""Run every code example on every page of the guide, in every language (Sybil).

* ``pycon`` blocks are doctests: each line's shown output is checked.
* ``python`` blocks are executed as shown. A block that includes code from
  ``src/`` with a snippet line (``--8<-- "src/...:section"``) runs the included
  section, so what a reader copies from a page is exactly what was run.

The examples of one page share a namespace, in page order.
"""

from __future__ import annotations

import doctest
import importlib.util
import re
from pathlib import Path

from sybil import Example, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser

ROOT = Path(__file__).resolve().parent
SNIPPET_LINE = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"$', re.M)
SECTION = '# --8<-- [{kind}:{name}]'

# the optional extra "triton": without it, its module cannot be imported (its tests skip themselves)
collect_ignore = [] if importlib.util.find_spec("triton") else ["src/attn_examples/triton_flash.py"]


def snippet_text(path: str, section: str | None) -> str:
    """Return what pymdownx.snippets includes for ``path`` (and ``section``)."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    if section is None:
        return "\n".join(lines)
    start, end = SECTION.format(kind="start", name=section), SECTION.format(kind="end", name=section)
    stripped = [line.strip() for line in lines]
    if start not in stripped or end not in stripped:
        raise LookupError(f"section {section!r} not found in {path}")
    body = lines[stripped.index(start) + 1 : stripped.index(end)]
    return "\n".join(line for line in body if not line.strip().startswith("# --8<-- ["))


def run_python_block(example: Example) -> None:
    source = SNIPPET_LINE.sub(lambda m: snippet_text(m["path"], m["section"]), example.parsed)
    exec(compile(source, str(example.path), "exec"), example.namespace)


class PyconBlockParser(PythonCodeBlockParser):
    """Doctest examples in ```pycon fences (PythonCodeBlockParser only looks at ```python)."""

    def __init__(self) -> None:
        super().__init__(doctest_optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        self.codeblock_parser = CodeBlockParser("pycon", PythonEvaluator())


pytest_collect_file = Sybil(
    parsers=[PyconBlockParser(), CodeBlockParser("python", run_python_block)],
    patterns=["*.md"],
    path="docs",
).pytest()
