"""The three methods of other packages the render cache wraps, and how it installs and removes them.

No public extension point lets a plugin skip rendering a page, highlighting a code block or
indexing a page for search, yet these are most of a rebuild's work. While the plugin is active
(from ``on_startup`` to ``on_shutdown``), each is replaced by a wrapper that returns the stored
result of an identical call, and calls the original otherwise:

- ``mkdocs.structure.pages.Page.render(self, config, files)``: keyed by the page's source path,
  URL and Markdown (after the other plugins), ``mkdocs.yml``, the site's files and their URLs (links
  are resolved against them) and every file the page includes with ``--8<--``. A render that
  logged a warning (a broken link, say) is never stored, so ``--strict`` still fails on it.
- ``pymdownx.highlight.Highlight.highlight(self, src, language, ...)``: code blocks only (inline
  code is cheap); the same block in five languages is highlighted once.
- ``material.plugins.search.plugin.SearchIndex.add_entry_from_context(self, page)``: keyed by the
  page's HTML, title, table of contents and search options.

``tests/site_checks/test_render_cache.py`` fails when one of these signatures changes upstream,
and ``tests/site_code/test_warm_rebuilds.py`` that an edit always shows after a warm rebuild.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pymdownx.highlight as highlight
from material.plugins.search import plugin as search
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure import pages
from mkdocs.structure.files import Files
from mkdocs.structure.toc import AnchorLink, get_toc

from attn_site.plugins.cache import SqliteCache

VERSIONS = " ".join(
    f"{p} {version(p)}" for p in ("mkdocs", "markdown", "pymdown-extensions", "pygments", "mkdocs-material", "jieba")
)
_SNIPPET = re.compile(r'^\s*-{1,}8<-{1,} "([^"]+)"', re.M)

# (owner, name): the methods wrapped while the plugin is active
WRAPPED: tuple[tuple[type, str], ...] = (
    (pages.Page, "render"),
    (highlight.Highlight, "highlight"),
    (search.SearchIndex, "add_entry_from_context"),
)


@dataclass
class RenderCache:
    """What the wrappers read: the store, the project folder, and what every page's render depends on."""

    store: SqliteCache
    root: Path
    config_text: str = ""
    originals: dict[str, Callable[..., Any]] = field(default_factory=dict)
    _files_signatures: dict[int, tuple[Files, str]] = field(default_factory=dict)

    def key(self, *parts: object) -> str:
        return self.store.key(VERSIONS, *parts)

    def files_signature(self, files: Files) -> str:
        """What links resolve against: every file's source and URL (computed once per language build)."""
        known = self._files_signatures.get(id(files))
        if known is None or known[0] is not files:
            known = files, self.key(sorted((f.src_uri, f.url) for f in files))
            self._files_signatures[id(files)] = known
        return known[1]

    def included(self, markdown: str) -> list[tuple[str, str]]:
        """The files a page includes with ``--8<-- "path[:section]"``, with a hash of their content."""
        found = []
        for target in sorted(set(_SNIPPET.findall(markdown))):
            path = self.root / re.sub(r":[\w-]+$", "", target)
            found.append((target, hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"))
        return found

    def install(self) -> None:
        """Wrap the three methods; the originals are kept to call and to restore."""
        factories: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
            "render": self._wrap_render,
            "highlight": self._wrap_highlight,
            "add_entry_from_context": self._wrap_add_entry,
        }
        for owner, name in WRAPPED:
            current = getattr(owner, name)
            original = getattr(current, "__wrapped__", current)  # `mkdocs serve` may build a plugin again
            self.originals[name] = original
            wrapper = factories[name](original)
            wrapper.__wrapped__ = original  # type: ignore[attr-defined]
            setattr(owner, name, wrapper)

    def uninstall(self) -> None:
        for owner, name in WRAPPED:
            if name in self.originals:
                setattr(owner, name, self.originals[name])
        self.originals.clear()

    def _wrap_highlight(self, original: Callable[..., str]) -> Callable[..., str]:
        cache = self

        def cached_highlight(
            self: highlight.Highlight, src: str, language: str, *args: object, **kwargs: object
        ) -> str:
            if kwargs.get("inline") or (len(args) > 5 and args[5]):
                return str(original(self, src, language, *args, **kwargs))
            options = sorted((name, value) for name, value in vars(self).items() if name != "md")
            key = cache.key("highlight", options, src, language, args, sorted(kwargs.items()))
            html = cache.store.get(key)
            if html is None:
                html = str(original(self, src, language, *args, **kwargs))
                cache.store.put(key, html)
            return html

        return cached_highlight

    def _wrap_add_entry(self, original: Callable[..., None]) -> Callable[..., None]:
        cache = self

        def cached_add_entry(self: search.SearchIndex, page: pages.Page) -> None:
            toc = [(item.id, item.url, item.title) for item in _flatten(page.toc)]
            meta = [repr(page.meta.get(name)) for name in ("search", "tags", "title")]
            options = sorted(self.config.items(), key=str)
            key = cache.key("search", options, page.url, str(page.title), page.content, toc, meta)
            stored = cache.store.get(key)
            if stored is not None:
                self.entries.extend(json.loads(stored))
                return
            before = len(self.entries)
            original(self, page)
            cache.store.put(key, json.dumps(self.entries[before:]))

        return cached_add_entry

    def _wrap_render(self, original: Callable[..., None]) -> Callable[..., None]:
        cache = self

        def cached_render(self: pages.Page, config: MkDocsConfig, files: Files) -> None:
            if self.markdown is None:
                original(self, config, files)
                return
            key = cache.key(
                "page",
                self.file.src_uri,
                self.url,
                self.markdown,
                cache.config_text,
                cache.files_signature(files),
                cache.included(self.markdown),
            )
            stored = cache.store.get(key)
            if stored is not None:
                state = json.loads(stored)
                self.content = state["content"]
                self.toc = get_toc(state["toc"])
                self._title_from_render = state["title"]
                self.present_anchor_ids = set(state["anchors"])
                if state["links"] is not None:
                    self.links_to_anchors = {files.src_uris[uri]: links for uri, links in state["links"].items()}
                return
            watcher = _WarningSeen()
            logging.getLogger("mkdocs").addHandler(watcher)
            try:
                original(self, config, files)
            finally:
                logging.getLogger("mkdocs").removeHandler(watcher)
            if watcher.seen:
                return
            links = self.links_to_anchors
            state = {
                "content": self.content,
                "toc": _toc_tokens(self.toc),
                "title": self._title_from_render,
                "anchors": sorted(self.present_anchor_ids or ()),
                "links": None if links is None else {f.src_uri: dict(a) for f, a in links.items()},
            }
            cache.store.put(key, json.dumps(state))

        return cached_render


class _WarningSeen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = True


def _toc_tokens(items: Iterable[AnchorLink]) -> list[dict[str, object]]:
    return [{"level": i.level, "id": i.id, "name": i.title, "children": _toc_tokens(i.children)} for i in items]


def _flatten(toc: Iterable[AnchorLink]) -> Iterator[AnchorLink]:
    for item in toc:
        yield item
        yield from _flatten(item.children)
