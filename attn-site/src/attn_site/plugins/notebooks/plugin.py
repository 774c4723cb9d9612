"""Lab notebooks as rendered pages in every language, executed once, converted once, styled once.

1. **Executed once** (:mod:`.execute`): the translations of a notebook share their code cells, so
   each notebook runs once for all languages, its outputs cached by its code and the modules of
   ``src/`` it imports; mkdocs-jupyter is handed an executed copy of each language's notebook
   (``.cache/executed-notebooks/``).
2. **Made safe** (:mod:`.safety`): outputs keep only what a page may show (HTML cleaned by nh3,
   no JavaScript or SVG), fresh or cached alike, and raw HTML in a Markdown cell fails the build.
3. **Converted once** (:mod:`.html`): mkdocs-jupyter's own cache, one folder per language, so that
   the language builds of mkdocs-static-i18n do not evict each other's conversions; the other
   languages' notebooks are converted ahead, in the background, while the first language builds
   (:mod:`.ahead`).
4. **Pages** (:mod:`.files`, :mod:`.pages`): notebooks are made pages again after mkdocs-static-i18n
   rebuilt the files as plain ones (its issue 198), with their alternates in every language;
   headings get the Unicode anchors of Markdown pages; notebook pages are left out of the search
   index (their prose repeats the chapter each accompanies, so results would come in pairs, and
   indexing their large HTML was slow).
5. **Styled once** (:mod:`.styles`): the JupyterLab stylesheet inlined in each page is served as one
   file, with the rules no notebook page uses dropped after the last language's build.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url
from mkdocs.utils.templates import TemplateContext

from attn_site.i18n import split_source
from attn_site.plugins.base import SitePlugin, build_order, building_language, is_first_language, is_last_language
from attn_site.plugins.notebooks import ahead, html, pages, safety, styles
from attn_site.plugins.notebooks import files as notebook_files
from attn_site.plugins.notebooks.config import NotebooksConfig
from attn_site.plugins.notebooks.execute import outputs_of_all, with_outputs


def is_notebook(page: Page) -> bool:
    return page.file.src_uri.endswith(".ipynb")


class NotebooksPlugin(SitePlugin):
    config_class = NotebooksConfig
    config: NotebooksConfig

    def __init__(self) -> None:
        self.stylesheets: set[Path] = set()  # shared stylesheets written by this language's build
        self.used_classes: set[str] = set()  # classes of every language's notebook pages
        self.sources: list[File] = []  # the notebooks of docs/ in every language, before mkdocs-static-i18n
        self.sitemap = notebook_files.SitemapPages()
        self.ahead = ahead.Ahead()
        self.ahead_started = False  # the other languages' notebooks are converted ahead once per process

    def on_build_error(self, *, error: Exception) -> None:
        self.ahead.stop()

    def on_shutdown(self) -> None:
        self.ahead.stop()

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.ahead_started = False
        self.stylesheets.clear()
        self.used_classes.clear()
        self.sitemap = notebook_files.SitemapPages()

    def executed_dir(self, config: MkDocsConfig) -> Path:
        return self.root(config) / self.config.cache_dir / "executed-notebooks"

    @event_priority(-110)  # after mkdocs-static-i18n (-100) has set the language of this build
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return config
        cache = self.cache(config, "notebook-html")
        folder = html.html_cache_dir(cache, building_language(config))
        html.use_jupyter_cache(config, folder)
        if is_first_language(config):
            html.evict_old_versions(cache, keep=folder.parent)
            self.cache(config, "notebook-outputs").evict()
            self.cache(config, "notebook-css").evict()
        return config

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        self.stylesheets.clear()  # each language's build writes the stylesheets again into the shared folder
        if is_first_language(config):
            self.used_classes.clear()  # a new build of the whole site: collect classes from every language

    @event_priority(-90)  # after mkdocs-jupyter (0), before mkdocs-static-i18n (-100) rebuilds the files
    def _notebook_sources(self, files: Files, *, config: MkDocsConfig) -> Files | None:
        self.sources = [file for file in files if notebook_files.is_notebook(file)]
        return files

    @event_priority(-200)  # after mkdocs-static-i18n (-100), which must still see the sources in docs/
    def _notebook_pages(self, files: Files, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return files
        files = notebook_files.notebook_pages(files, self.sources, config)
        self.sitemap.record(building_language(config), files)
        if self.config.execute:
            self.execute(files, config)
        return files

    on_files = CombinedEvent(_notebook_sources, _notebook_pages)

    @event_priority(0)  # after mkdocs-static-i18n (50) has put its own list of pages in the context
    def on_template_context(
        self, context: TemplateContext, *, template_name: str, config: MkDocsConfig
    ) -> TemplateContext | None:
        return self.sitemap.context(context) if self.config.enabled else context

    def execute(self, files: Files, config: MkDocsConfig) -> None:
        """Give mkdocs-jupyter an executed copy of each notebook of ``files``, executing those not cached.

        The first language's build writes the other languages' copies too (their outputs are the
        same), and has them converted to HTML in the background for their builds (:mod:`.ahead`).
        """
        executed = self.executed_dir(config)
        mine = [
            file
            for file in files
            if notebook_files.is_notebook(file)
            and file.abs_src_path is not None
            and executed not in Path(file.abs_src_path).parents  # mkdocs serve keeps File objects between rebuilds
        ]
        later = self._notebooks_of_later_languages(config)
        copies = self._executed_copies([*mine, *(file for file, _ in later)], config)
        for file, copy in zip(mine, copies[: len(mine)], strict=True):
            file.abs_src_path = str(copy)
        if later:
            jupyter = html.jupyter_plugin(config).config
            cache = self.cache(config, "notebook-html")
            jobs = [
                ahead.conversion(copy, html.html_cache_dir(cache, lang), jupyter)
                for (_, lang), copy in zip(later, copies[len(mine) :], strict=True)
            ]
            self.ahead.submit([job for job in jobs if not job.entry.exists()])

    def _notebooks_of_later_languages(self, config: MkDocsConfig) -> list[tuple[File, str]]:
        """In a process's first build of the first language, the other languages' notebooks (sources in
        docs/) and their language; none in a rebuild of `mkdocs serve`, which converts an edited notebook alone."""
        if not (self.config.convert_ahead and is_first_language(config)) or self.ahead_started:
            return []
        self.ahead_started = True
        later = build_order(config)[1:]
        found = []
        for file in self.sources:
            split = split_source(file.src_uri)
            if split is not None and split[1] in later and file.abs_src_path is not None:
                found.append((file, split[1]))
        return found

    def _executed_copies(self, notebooks: list[File], config: MkDocsConfig) -> list[Path]:
        """Write the executed copy of each notebook (its outputs made safe); return their paths."""
        sources = [Path(str(file.abs_src_path)) for file in notebooks]
        read = [(nbformat.read(source, as_version=4), source) for source in sources]
        outputs = outputs_of_all(
            read,
            self.cache(config, "notebook-outputs"),
            self.root(config) / "src",
            workers=self.config.workers or os.cpu_count() or 1,
            timeout=self.config.timeout,
        )
        copies = []
        for file, (nb, _), result in zip(notebooks, read, outputs, strict=True):
            target = self.executed_dir(config) / file.src_uri  # same file name: the download link keeps it
            target.parent.mkdir(parents=True, exist_ok=True)
            try:  # outputs fresh or cached alike: only what a page may show, before mkdocs-jupyter sees it
                safe = safety.safe_notebook(with_outputs(nb, result), file.src_uri)
            except ValueError as error:
                raise PluginError(str(error)) from None
            nbformat.write(safe, target)
            copies.append(target)
        return copies

    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not (self.config.enabled and is_notebook(page)):
            return html
        page.meta["search"] = {"exclude": True}  # read by Material's search plugin in on_page_context
        html, anchors = pages.with_unicode_anchors(html)
        toc = list(pages.flatten(page.toc))
        if len(toc) != len(anchors):
            raise PluginError(f"{page.file.src_uri}: {len(toc)} TOC entries but {len(anchors)} headings")
        for item, anchor in zip(toc, anchors, strict=True):
            item.id = anchor
        return html

    @event_priority(-60)  # after the plugins that change a page's HTML, so its classes are final
    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str | None:
        if not (self.config.enabled and is_notebook(page)):
            return output
        self.used_classes |= styles.used_classes(output)

        def link(css: str) -> str:
            name = styles.stylesheet_name(css)
            path = Path(config.site_dir) / name
            if path not in self.stylesheets:  # a file left by an earlier build of `mkdocs serve` was purged
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(css, encoding="utf-8")
                self.stylesheets.add(path)
            return f'<link rel="stylesheet" href="{get_relative_url(name, page.url)}">'

        return styles.link_large_styles(output, link)

    @event_priority(0)  # before mkdocs-static-i18n (-100) builds the other languages from its on_post_build
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if not self.config.enabled or not is_last_language(config):
            return  # purge once, after the last language, with the classes of all of them
        self.ahead.stop()
        cache = self.cache(config, "notebook-css")
        for path in self.stylesheets:
            css = path.read_text(encoding="utf-8")
            key = cache.key(css, sorted(self.used_classes))  # the same CSS and classes: the same result
            purged = cache.read_text(key, ".css")
            if purged is None:
                purged = styles.purge_unused_rules(css, self.used_classes)
                cache.write_text(key, purged, ".css")
            path.write_text(purged, encoding="utf-8")
