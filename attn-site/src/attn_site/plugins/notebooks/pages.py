"""Notebook pages with the heading anchors of Markdown pages, in every language.

mkdocs-jupyter slugifies headings to ASCII: a Chinese or Korean heading gets ``id=""`` while its
table-of-contents entry points to ``#_1``. Headings and TOC entries are given the same Unicode
slugs as Markdown pages instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from mkdocs.structure.toc import AnchorLink
from pymdownx.slugs import slugify

_slugify = slugify(case="lower")
_HEADING = re.compile(r'<h([1-6]) id="[^"]*">(.*?)<a class="anchor-link" href="#[^"]*">', re.S)
_TAG = re.compile(r"<[^>]+>")


def flatten(items: Iterable[AnchorLink]) -> Iterator[AnchorLink]:
    for item in items:
        yield item
        yield from flatten(item.children)


def with_unicode_anchors(html: str) -> tuple[str, list[str]]:
    """``html`` with each heading's id and anchor link set to its Unicode slug, and those slugs in order.

    >>> with_unicode_anchors('<h2 id="">注意力<a class="anchor-link" href="#">¶</a></h2>'
    ...                      '<h2 id="">注意力<a class="anchor-link" href="#">¶</a></h2>')[1]
    ['注意力', '注意力_2']
    """
    anchors: list[str] = []

    def unique_anchor(match: re.Match[str]) -> str:
        level, content = match.groups()
        base = _slugify(_TAG.sub("", content), "-") or "section"
        anchor, n = base, 1
        while anchor in anchors:
            n += 1
            anchor = f"{base}_{n}"
        anchors.append(anchor)
        return f'<h{level} id="{anchor}">{content}<a class="anchor-link" href="#{anchor}">'

    return _HEADING.sub(unique_anchor, html), anchors
