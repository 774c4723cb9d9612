"""Keep the costly, pure steps of page rendering on disk: Markdown, code highlighting, search entries.

- A Markdown page's HTML, table of contents and anchors are reused when everything its rendering
  reads is unchanged: its Markdown (after the other hooks), its URL, the site's files and their
  URLs (links are resolved against them), ``mkdocs.yml``, and every file it includes with
  ``--8<--``. A render that logged a warning (a broken link, say) is never cached, so ``--strict``
  still fails on it in every build.
- Pygments highlighting (through ``pymdownx.highlight``) is a large part of rendering a page, and
  the code blocks are the same in all five languages: each block is highlighted once, then reused
  by the other languages and by later builds.
- Material's search plugin parses every page's HTML again (and segments Chinese with jieba) on
  every build: the entries of a page are reused as long as its HTML, title and table of contents
  are the same.

Both are keyed by everything their result depends on (the inputs, the extension's or plugin's
options, the versions of the libraries), in one SQLite file, ``.cache/render.sqlite``. Entries
unused for a week are deleted. Together with the notebook caches this lets a rebuild after one
edit redo the work of that page only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import version
from pathlib import Path

import pymdownx.highlight as highlight
from material.plugins.search import plugin as search
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure import pages
from mkdocs.structure.files import Files
from mkdocs.structure.toc import AnchorLink, get_toc

CACHE = Path(".cache") / "render.sqlite"  # under the folder of mkdocs.yml
MAX_AGE_S = 7 * 24 * 3600
_VERSIONS = " ".join(
    f"{p} {version(p)}" for p in ("mkdocs", "markdown", "pymdown-extensions", "pygments", "mkdocs-material", "jieba")
)
_SNIPPET = re.compile(r'^\s*-{1,}8<-{1,} "([^"]+)"', re.M)
_highlight = getattr(highlight.Highlight.highlight, "__wrapped__", highlight.Highlight.highlight)
_render: Callable[[pages.Page, MkDocsConfig, Files], None] = getattr(
    pages.Page.render, "__wrapped__", pages.Page.render
)
_add_entry = getattr(
    search.SearchIndex.add_entry_from_context, "__wrapped__", search.SearchIndex.add_entry_from_context
)  # `mkdocs serve` reloads hooks
_db: sqlite3.Connection | None = None
_root = Path.cwd()
_config_text = ""
_files_signatures: dict[int, tuple[Files, str]] = {}


def _key(*parts: object) -> str:
    return hashlib.sha256(repr((_VERSIONS, *parts)).encode()).hexdigest()


def _get(key: str) -> str | None:
    if _db is None:
        return None
    row = _db.execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone()
    if row is not None:
        _db.execute("UPDATE cache SET used = ? WHERE key = ?", (time.time(), key))
    return None if row is None else row[0]


def _put(key: str, value: str) -> None:
    if _db is not None:
        _db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (key, value, time.time()))


def cached_highlight(self: highlight.Highlight, src: str, language: str, *args: object, **kwargs: object) -> str:
    """``Highlight.highlight`` for code blocks, cached; inline code (an element, cheap) is not."""
    if kwargs.get("inline") or (len(args) > 5 and args[5]):
        return _highlight(self, src, language, *args, **kwargs)
    options = sorted((name, value) for name, value in vars(self).items() if name != "md")
    key = _key("highlight", options, src, language, args, sorted(kwargs.items()))
    html = _get(key)
    if html is None:
        html = _highlight(self, src, language, *args, **kwargs)
        _put(key, html)
    return html


def cached_add_entry(self: search.SearchIndex, page: pages.Page) -> None:
    """``SearchIndex.add_entry_from_context``, reusing the entries of an unchanged page."""
    toc = [(item.id, item.url, item.title) for item in _flatten(page.toc)]
    key = _key(
        "search",
        sorted(self.config.items(), key=str),
        page.url,
        str(page.title),
        page.content,
        toc,
        repr(page.meta.get("search")),
        repr(page.meta.get("tags")),
        repr(page.meta.get("title")),
    )
    cached = _get(key)
    if cached is not None:
        self.entries.extend(json.loads(cached))
        return
    before = len(self.entries)
    _add_entry(self, page)
    _put(key, json.dumps(self.entries[before:]))


class _WarningSeen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = True


def _files_signature(files: Files) -> str:
    """What links resolve against: every file's source and URL (computed once per language build)."""
    known = _files_signatures.get(id(files))
    if known is None or known[0] is not files:
        known = files, _key(sorted((f.src_uri, f.url) for f in files))
        _files_signatures[id(files)] = known
    return known[1]


def _included(markdown: str) -> list[tuple[str, str]]:
    """The files a page includes with ``--8<-- "path[:section]"``, with a hash of their content."""
    included = []
    for target in sorted(set(_SNIPPET.findall(markdown))):
        path = _root / re.sub(r":[\w-]+$", "", target)
        included.append((target, hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"))
    return included


def _toc_tokens(items: Iterable[AnchorLink]) -> list[dict[str, object]]:
    return [{"level": i.level, "id": i.id, "name": i.title, "children": _toc_tokens(i.children)} for i in items]


def cached_render(self: pages.Page, config: MkDocsConfig, files: Files) -> None:
    """``Page.render``, reusing the result of an identical render."""
    if self.markdown is None:
        return _render(self, config, files)
    key = _key(
        "page",
        self.file.src_uri,
        self.url,
        self.markdown,
        _config_text,
        _files_signature(files),
        _included(self.markdown),
    )
    cached = _get(key)
    if cached is not None:
        state = json.loads(cached)
        self.content = state["content"]
        self.toc = get_toc(state["toc"])
        self._title_from_render = state["title"]
        self.present_anchor_ids = set(state["anchors"])
        if state["links"] is not None:
            self.links_to_anchors = {files.src_uris[uri]: links for uri, links in state["links"].items()}
        return None
    watcher = _WarningSeen()
    logging.getLogger("mkdocs").addHandler(watcher)
    try:
        _render(self, config, files)
    finally:
        logging.getLogger("mkdocs").removeHandler(watcher)
    if not watcher.seen:
        links = (
            None
            if self.links_to_anchors is None
            else {f.src_uri: dict(anchors) for f, anchors in self.links_to_anchors.items()}
        )
        _put(
            key,
            json.dumps(
                {
                    "content": self.content,
                    "toc": _toc_tokens(self.toc),
                    "title": self._title_from_render,
                    "anchors": sorted(self.present_anchor_ids or ()),
                    "links": links,
                }
            ),
        )
    return None


def _flatten(toc: Iterable[AnchorLink]) -> Iterator[AnchorLink]:
    for item in toc:
        yield item
        yield from _flatten(item.children)


cached_render.__wrapped__ = _render  # type: ignore[attr-defined]
cached_highlight.__wrapped__ = _highlight  # type: ignore[attr-defined]
cached_add_entry.__wrapped__ = _add_entry  # type: ignore[attr-defined]
pages.Page.render = cached_render  # type: ignore[method-assign]  # the patch this hook exists for
highlight.Highlight.highlight = cached_highlight
search.SearchIndex.add_entry_from_context = cached_add_entry


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _db, _root, _config_text
    _root = Path(config.config_file_path).parent
    _config_text = Path(config.config_file_path).read_text(encoding="utf-8") + repr(
        sorted(
            (k, v)
            for k, v in os.environ.items()
            if k in ("BUILD_TRANSLATIONS", "SITE_URL", "READTHEDOCS_CANONICAL_URL")
        )
    )
    _files_signatures.clear()
    path = _root / CACHE
    path.parent.mkdir(parents=True, exist_ok=True)
    if _db is not None:
        _db.close()
    _db = sqlite3.connect(path, isolation_level=None)  # autocommit
    _db.execute("PRAGMA journal_mode = WAL")
    _db.execute("PRAGMA synchronous = OFF")  # a cache: losing it costs a slower build, nothing else
    _db.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, used REAL NOT NULL)")
    _db.execute("DELETE FROM cache WHERE used < ?", (time.time() - MAX_AGE_S,))
    return config
