"""Lab notebooks stay pages after mkdocs-static-i18n rebuilds the site's files (its issue 198).

mkdocs-jupyter wraps each notebook's ``File`` so that it counts as a page, but mkdocs-static-i18n
then rebuilds every file of ``docs/`` as a plain MkDocs ``File``, which counts as a page only when
its extension is Markdown's. Each notebook would be copied to the site as raw JSON, with no page,
no place in the language switcher or the sitemap, and ``--strict`` would not notice.

Once mkdocs-static-i18n has built a language's files, each notebook it kept is replaced, in the same
place, by a :class:`NotebookPage`: a ``File`` that is a page, made by mkdocs-static-i18n's own
function for the layout in use (``create_i18n_file``) with what it gives a Markdown page: the
notebook in the language being built (the default language's where a translation is missing, with
``fallback_to_default``), its destination in that language's folder, and its alternate in every
language built, for the language switcher and the sitemap (:class:`SitemapPages` puts it there).
Nothing of mkdocs-static-i18n or MkDocs is changed; ``tests/site_checks/test_notebooks_plugin.py``
builds a two-language site with a notebook and checks each of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.utils.templates import TemplateContext
from mkdocs_static_i18n import folder, suffix

NOTEBOOK = ".ipynb"
I18N_PLUGIN = "i18n"


class NotebookPage(File):
    """A notebook's ``File`` that MkDocs builds as a page, whatever its extension."""

    alternates: dict[str, File]  # the same page in each language built (mkdocs-static-i18n's attribute)

    def is_documentation_page(self) -> bool:
        return True


def is_notebook(file: File) -> bool:
    return file.src_uri.endswith(NOTEBOOK)


def as_page(file: File) -> NotebookPage:
    """A :class:`NotebookPage` with everything ``file`` holds (its destination, URL and i18n metadata)."""
    page = NotebookPage(
        file.src_path,
        file.src_dir,
        file.dest_dir,
        file.use_directory_urls,
        dest_uri=file.dest_uri,
        inclusion=file.inclusion,
    )
    page.__dict__.update(vars(file))
    return page


def notebook_pages(files: Files, sources: Sequence[File], config: MkDocsConfig) -> Files:
    """``files`` (mkdocs-static-i18n's files of the language being built) with its notebooks as pages.

    ``sources`` are the notebooks of ``docs/`` in every language, as mkdocs-static-i18n received them.
    """
    i18n: Any = config.plugins.get(I18N_PLUGIN)
    if i18n is None:
        return files  # no language builds: mkdocs-jupyter's own wrapper already makes notebooks pages
    layout = folder if i18n.config.docs_structure == "folder" else suffix
    current, default = i18n.current_language, i18n.default_language

    def localized(source: File, lang: str) -> Any:  # a File with mkdocs-static-i18n's attributes
        return layout.create_i18n_file(source, lang, default, i18n.all_languages, config)

    by_name: dict[str, dict[str, File]] = {}  # a notebook's name without language -> locale -> source
    for source in sources:
        described = localized(source, current)
        by_name.setdefault(described.norm_src_uri, {}).setdefault(described.locale, source)

    def source_in(lang: str, translations: dict[str, File]) -> File | None:
        fallback = translations.get(default) if i18n.config.fallback_to_default else None
        return translations.get(lang, fallback)

    pages: dict[str, NotebookPage] = {}
    for translations in by_name.values():
        selected = source_in(current, translations)
        if selected is None:
            continue
        page = as_page(localized(selected, current))
        page.alternates = {current: page}
        for lang in sorted(i18n.build_languages):
            alternate = source_in(lang, translations)
            if lang not in page.alternates and alternate is not None:
                page.alternates[lang] = localized(alternate, lang)
        pages[page.src_uri] = page
    ordered = [pages.get(file.src_uri, file) if is_notebook(file) else file for file in files]
    for file in ordered:  # keep the order of files (the sitemap's): take every file out, then put each back
        files.remove(file)
    for file in ordered:
        files.append(file)
    return files


@dataclass
class SitemapPages:
    """The pages of each language built, for mkdocs-static-i18n's sitemap, notebooks included.

    mkdocs-static-i18n lists each language's pages for its sitemap template (``i18n_alternates``)
    before the notebooks are pages again; this list is the same, taken after :func:`notebook_pages`.
    """

    by_language: dict[str, list[File]] = field(default_factory=dict)

    def record(self, lang: str, files: Files) -> None:
        self.by_language[lang] = list(files.documentation_pages())

    def context(self, context: TemplateContext) -> TemplateContext:
        if "i18n_alternates" in context:
            context["i18n_alternates"] = dict(self.by_language)  # type: ignore[typeddict-unknown-key]
        return context
