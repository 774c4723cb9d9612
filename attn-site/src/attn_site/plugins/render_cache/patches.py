"""The one method of another package the site replaces: ``mkdocs.structure.pages.Page.render``.

No public extension point lets a plugin skip rendering a page, yet rendering the Markdown of every
page of five languages is most of a rebuild's work. While the plugin is active (from ``on_config``
to ``on_shutdown`` or a failed build), ``Page.render(self, config, files)`` is replaced by a wrapper
that restores the stored result of an identical render, and renders otherwise. A render is keyed by
the page's source path, URL and Markdown (after the other plugins), ``mkdocs.yml``, the site's
files and their URLs (links are resolved against them) and every file the page includes with
``--8<--``. A render that logged a warning (a broken link, say) is never stored, so ``--strict``
still fails on it. A page rendered by another plugin's own ``render`` (mkdocs-jupyter's notebook
pages) is not affected.

``tests/site_code/test_render_cache.py`` fails when ``Page.render``'s signature, or the attributes
of a page the wrapper stores, change upstream; ``tests/site_code/test_warm_rebuilds.py`` that an
edit always shows after a warm rebuild.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure import pages
from mkdocs.structure.files import Files
from mkdocs.structure.toc import AnchorLink, get_toc

from attn_site.plugins.cache import SqliteCache

VERSIONS = " ".join(
    f"{p} {version(p)}" for p in ("mkdocs", "markdown", "pymdown-extensions", "pygments", "mkdocs-material", "jieba")
)
_SNIPPET = re.compile(r'^\s*-{1,}8<-{1,} "([^"]+)"', re.M)

# the method wrapped while the plugin is active
WRAPPED = (pages.Page, "render")


@dataclass
class RenderCache:
    """What the wrapper reads: the store, the project folder, and what every page's render depends on."""

    store: SqliteCache
    root: Path
    config_text: str = ""
    original: Callable[..., None] | None = None
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
        """Wrap ``Page.render``; the original is kept to call and to restore."""
        owner, name = WRAPPED
        current = getattr(owner, name)
        original = getattr(current, "__wrapped__", current)  # `mkdocs serve` may build a plugin again
        wrapper = self._wrap_render(original)
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        self.original = original
        setattr(owner, name, wrapper)

    def uninstall(self) -> None:
        if self.original is not None:
            owner, name = WRAPPED
            setattr(owner, name, self.original)
            self.original = None

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
