"""Keep the costly, pure steps of a build on disk, so that a rebuild redoes only what an edit changed.

- **Rendered pages**: stored in ``<cache_dir>/render.sqlite`` by wrapping MkDocs's ``Page.render``,
  the one method of another package the site replaces (:mod:`.patches` says why no public way
  exists, and how a render is keyed).
- **Search entries**: stored in the same file; Material's search plugin skips a page whose entries
  are stored, through its own ``search: exclude`` page option, and gets them back (:mod:`.search`).
- **Compiled templates**: mkdocs-static-i18n builds each language with a new Jinja environment,
  which compiles Material's templates again (five times a build, and on every rebuild of
  ``mkdocs serve``); each environment gets Jinja's own bytecode cache in ``<cache_dir>/jinja/``,
  keyed by a template's name and the checksum of its source.

With ``enabled: false`` nothing is wrapped and the build is slower, not different.
"""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils.templates import TemplateContext

from attn_site.plugins.base import SitePlugin
from attn_site.plugins.cache import SqliteCache
from attn_site.plugins.render_cache.config import RenderCacheConfig
from attn_site.plugins.render_cache.patches import RenderCache
from attn_site.plugins.render_cache.search import SearchEntries

# what a page's render reads besides mkdocs.yml: the settings that mkdocs.yml takes from the environment
_ENVIRONMENT = ("BUILD_TRANSLATIONS", "SITE_URL", "READTHEDOCS_CANONICAL_URL")


class RenderCachePlugin(SitePlugin):
    config_class = RenderCacheConfig
    config: RenderCacheConfig

    def __init__(self) -> None:
        self.active: RenderCache | None = None
        self.search: SearchEntries | None = None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        self._close()
        if not self.config.enabled:
            return config
        folder = self.root(config) / self.config.cache_dir
        store = SqliteCache(folder / "render.sqlite")
        store.evict(self.config.max_age_days * 24 * 3600)
        settings = sorted((k, v) for k, v in os.environ.items() if k in _ENVIRONMENT)
        config_text = Path(config.config_file_path).read_text(encoding="utf-8") + repr(settings)
        self.active = RenderCache(store=store, root=self.root(config), config_text=config_text)
        self.active.install()
        self.search = SearchEntries(self.active)
        return config

    def on_env(self, env: Environment, *, config: MkDocsConfig, files: Files) -> Environment | None:
        if self.config.enabled:
            folder = self.root(config) / self.config.cache_dir / "jinja"
            folder.mkdir(parents=True, exist_ok=True)
            env.bytecode_cache = FileSystemBytecodeCache(str(folder))
        return env

    @event_priority(10)  # before Material's search plugin (0) indexes the page
    def _before_search(
        self, context: TemplateContext, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext | None:
        if self.search is not None:
            self.search.before(page, config)
        return context

    @event_priority(-10)  # after it
    def _after_search(
        self, context: TemplateContext, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext | None:
        if self.search is not None:
            self.search.after(page, config)
        return context

    on_page_context = CombinedEvent(_before_search, _after_search)

    def on_build_error(self, *, error: Exception) -> None:
        self._close()

    def on_shutdown(self) -> None:
        self._close()

    def _close(self) -> None:
        self.search = None
        if self.active is not None:
            self.active.uninstall()
            self.active.store.close()
            self.active = None
