"""Keep lab notebooks rendered pages, with working heading anchors, in every language.

1. mkdocs-static-i18n rebuilds each file as a plain MkDocs ``File``, which
   counts as a page only if its extension is a Markdown one. mkdocs-jupyter's
   wrapper is lost, every ``.ipynb`` is copied to the site as raw JSON, and
   ``--strict`` does not notice (mkdocs-static-i18n issue 198). Registering
   ``.ipynb`` as a page extension keeps notebooks pages for mkdocs-jupyter.
2. mkdocs-jupyter slugifies headings to ASCII: a Chinese or Korean heading gets
   ``id=""`` while its table-of-contents entry points to ``#_1``. Headings and
   TOC entries are given the same Unicode slugs as Markdown pages instead.
3. Notebook pages are left out of the search index: their prose repeats the chapter that each
   notebook accompanies, so results would come in pairs, and indexing their large highlighted
   HTML took most of the search plugin's share of a build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import mkdocs.utils
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import AnchorLink
from pymdownx.slugs import slugify

if ".ipynb" not in mkdocs.utils.markdown_extensions:
    # mkdocs leaves this tuple unannotated, so its type is inferred as exactly five strings
    mkdocs.utils.markdown_extensions = (*mkdocs.utils.markdown_extensions, ".ipynb")  # type: ignore[assignment]

_slugify = slugify(case="lower")
_HEADING = re.compile(r'<h([1-6]) id="[^"]*">(.*?)<a class="anchor-link" href="#[^"]*">', re.S)
_TAG = re.compile(r"<[^>]+>")


def _flatten(items: Iterable[AnchorLink]) -> Iterator[AnchorLink]:
    for item in items:
        yield item
        yield from _flatten(item.children)


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    page.meta["search"] = {"exclude": True}  # read by Material's search plugin in on_page_context
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

    html = _HEADING.sub(unique_anchor, html)
    toc = list(_flatten(page.toc))
    if len(toc) != len(anchors):
        raise PluginError(f"{page.file.src_uri}: {len(toc)} TOC entries but {len(anchors)} headings")
    for item, anchor in zip(toc, anchors, strict=True):
        item.id = anchor
    return html
