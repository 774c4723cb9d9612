"""Search entries kept across builds, without replacing anything of Material's search plugin.

Material's search plugin indexes every page of every language on each build (its HTML parsed
section by section, Chinese text segmented by jieba): 1 to 2 s of a five-language rebuild's 3 to 5
once pages come from the render cache. A page's entries depend only on the search options, the page's
URL, title, HTML, table of contents and metadata, so they are stored under those in the render
cache's store. When a page's entries are stored, the page is marked ``search: exclude`` (Material's
documented page option) while Material's ``on_page_context`` runs, so that Material skips it; then
its metadata is given back as it was and its stored entries are added to Material's index, where
Material would have added them. The index is the same, entry for entry and in the same order.
This reads Material's index where mkdocs-static-i18n reads it too, ``search_index.entries`` of its
plugin.

``tests/site_code/test_render_cache.py`` runs Material's search plugin on a page twice and checks
that the second time gives the same entries without indexing the page again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from material.plugins.search.plugin import SearchPlugin
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import AnchorLink

from attn_site.plugins.render_cache.patches import RenderCache

_ABSENT = object()


@dataclass
class _Indexing:
    """The page Material's search plugin is indexing now, and what to do once it has."""

    page: Page
    key: str
    start: int  # how many entries Material's index held before this page's
    stored: list[dict[str, Any]] | None  # the page's stored entries, if any
    meta: object  # the page's own ``search`` metadata, given back after Material's hook


def search_plugin(config: MkDocsConfig) -> SearchPlugin | None:
    """Material's search plugin, when it is enabled."""
    for plugin in config.plugins.values():
        if isinstance(plugin, SearchPlugin) and plugin.config.enabled:
            return plugin
    return None


class SearchEntries:
    """Around Material's ``on_page_context``: :meth:`before` skips a stored page, :meth:`after` adds its entries."""

    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache
        self.indexing: _Indexing | None = None

    def before(self, page: Page, config: MkDocsConfig) -> None:
        self.indexing = None
        plugin = search_plugin(config)
        meta = page.meta.get("search", _ABSENT)
        if plugin is None or (isinstance(meta, dict) and meta.get("exclude")):
            return
        toc = [(item.id, item.url, item.title) for item in _flatten(page.toc)]
        key = self.cache.key(
            "search",
            sorted(plugin.config.items(), key=str),
            page.url,
            str(page.title),
            page.content,
            toc,
            [repr(page.meta.get(name)) for name in ("search", "tags", "title")],
        )
        stored = self.cache.store.get(key)
        entries = None if stored is None else json.loads(stored)
        self.indexing = _Indexing(page, key, len(plugin.search_index.entries), entries, meta)
        if entries is not None:
            page.meta["search"] = {**(meta if isinstance(meta, dict) else {}), "exclude": True}

    def after(self, page: Page, config: MkDocsConfig) -> None:
        indexing, self.indexing = self.indexing, None
        plugin = search_plugin(config)
        if indexing is None or indexing.page is not page or plugin is None:
            return
        entries = plugin.search_index.entries
        if indexing.stored is None:
            self.cache.store.put(indexing.key, json.dumps(entries[indexing.start :]))
            return
        if indexing.meta is _ABSENT:
            del page.meta["search"]
        else:
            page.meta["search"] = indexing.meta
        entries.extend(indexing.stored)


def _flatten(toc: Iterable[AnchorLink]) -> Iterator[AnchorLink]:
    for item in toc:
        yield item
        yield from _flatten(item.children)
