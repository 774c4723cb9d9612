"""A page's code as one file: its ``python`` blocks in page order, each snippet line replaced by the code it includes.

A page shows code from ``src/`` with snippet lines (``--8<-- "src/attn_examples/simple.py:one_query"``),
which pymdownx.snippets replaces by the lines between ``# --8<-- [start:one_query]`` and
``# --8<-- [end:one_query]``, dropping the section markers nested inside. ``page_code`` does the same
for every ``python`` block of a page (those inside admonitions too), and joins them: what a reader gets
by pasting the page's listings into one file; ``code_file`` puts a header above it, and the page's
download button (``attn/listings``) serves that file.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

SNIPPET_LINE = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"$', re.M)
SECTION = "# --8<-- [{kind}:{name}]"
# a fenced ```python block, at any indentation (inside an admonition, a tab or a list item)
PYTHON_BLOCK = re.compile(r"^(?P<indent>[ ]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$", re.M | re.S)


def snippet_text(root: Path, path: str, section: str | None) -> str:
    """Return what pymdownx.snippets includes for ``path`` (relative to ``root``) and ``section``."""
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    if section is None:
        return "\n".join(lines)
    start, end = SECTION.format(kind="start", name=section), SECTION.format(kind="end", name=section)
    stripped = [line.strip() for line in lines]
    if start not in stripped or end not in stripped:
        raise LookupError(f"section {section!r} not found in {path}")
    body = lines[stripped.index(start) + 1 : stripped.index(end)]
    return "\n".join(line for line in body if not line.strip().startswith("# --8<-- ["))


def expand_snippets(root: Path, source: str) -> str:
    """``source`` with each snippet line replaced by the code it includes."""
    return SNIPPET_LINE.sub(lambda m: snippet_text(root, m["path"], m["section"]), source)


def python_blocks(markdown: str) -> list[str]:
    """The ``python`` blocks of a page's Markdown, in page order, dedented, snippets not yet included."""
    return [textwrap.dedent(m["body"]) for m in PYTHON_BLOCK.finditer(markdown)]


def page_code(root: Path, page: Path) -> str:
    """The ``python`` blocks of ``page``, snippets included, joined into one module ('' if it has none)."""
    blocks = [expand_snippets(root, block).strip("\n") for block in python_blocks(page.read_text(encoding="utf-8"))]
    return "\n\n\n".join(block for block in blocks if block) + "\n" if blocks else ""


def page_title(page: Path) -> str:
    """The title of a Markdown page: its first ``# `` heading, without its attribute list."""
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].split(" {", 1)[0].strip()
    raise ValueError(f"{page} has no level-1 heading (# Title)")


def code_file_name(stem: str) -> str:
    """The name of the file that holds the code of the page ``stem``: a module name Python can import.

    >>> code_file_name("multi-head-attention")
    'multi_head_attention.py'
    """
    return stem.replace("-", "_") + ".py"


def code_file(root: Path, page: Path, title: str) -> str:
    """The file readers download from ``page`` (titled ``title``): a header, then ``page_code``."""
    name = code_file_name(page.name.split(".", 1)[0])
    header = (
        f"# The code of the page “{title}” of the guide attn-examples, in the order the page shows it.\n"
        "# It needs PyTorch alone (the page's examples import the guide's package, which checks its input).\n"
        f"# python -m doctest -o NORMALIZE_WHITESPACE -o ELLIPSIS {name}   runs the examples of its docstrings.\n"
    )
    return header + "\n" + page_code(root, page)
