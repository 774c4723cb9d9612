"""The language-independent skeleton of a Markdown page, for the parity checks.

Only prose may differ between translations; this module extracts everything
else so that two languages' pages can be compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>[^\n]*)\n.*?^(?P=indent)(?P=fence) *$", re.M | re.S)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.M)
_HEADING_ID = re.compile(r"\{\s*#([\w-]+)\s*\}\s*$")
_MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\$\\])\$(?!\$)[^$\n]+?\$")
_ADMONITION = re.compile(r"^ *(!!!|\?\?\?\+?)\s*([\w-]+)", re.M)
_SNIPPET = re.compile(r'^ *--8<-- "[^"]+"\s*$', re.M)
_LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


@dataclass(frozen=True)
class Skeleton:
    headings: tuple[tuple[int, str | None], ...]  # (level, explicit id)
    code_blocks: tuple[str, ...]
    snippets: tuple[str, ...]
    math_blocks: tuple[str, ...]
    inline_math: tuple[str, ...]
    admonitions: tuple[str, ...]
    link_targets: tuple[str, ...]


def skeleton(markdown: str) -> Skeleton:
    """Extract the parts of a page that must be identical in every language.

    >>> s = skeleton("# Title { #top }\\n\\nText $x$.\\n\\n```python\\nprint(1)\\n```\\n")
    >>> s.headings, s.code_blocks, s.inline_math
    (((1, 'top'),), ('```python\\nprint(1)\\n```',), ('$x$',))
    """
    text = _FRONT_MATTER.sub("", markdown)
    code_blocks = tuple(m.group(0) for m in _FENCE.finditer(text))
    prose = _FENCE.sub("", text)
    headings = []
    for hashes, title in _HEADING.findall(prose):
        match = _HEADING_ID.search(title)
        headings.append((len(hashes), match.group(1) if match else None))
    return Skeleton(
        headings=tuple(headings),
        code_blocks=code_blocks,
        snippets=tuple(line.strip() for block in code_blocks for line in _SNIPPET.findall(block)),
        math_blocks=tuple(_MATH_BLOCK.findall(prose)),
        inline_math=tuple(sorted(_INLINE_MATH.findall(_MATH_BLOCK.sub("", prose)))),
        admonitions=tuple(f"{kind} {name}" for kind, name in _ADMONITION.findall(prose)),
        link_targets=tuple(sorted(_LINK_TARGET.findall(prose))),
    )
