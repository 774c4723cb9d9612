"""Link the first use of each glossary term on a page to its entry, with its definition as a tooltip.

On a Markdown page of the language being built, the first occurrence of each term's name in that
language in running text (not in code, math, links or headings) becomes a link to the glossary's
entry (``glossary/#id``) whose ``title`` is the definition; Material's ``content.tooltips`` shows
it on hover and keyboard focus (:mod:`.terms` reads the glossary and places the links). The
glossary page itself and the notebooks get no links, and a term whose name is also an everyday word
is linked only on the pages ``only_on`` names (mkdocs.yml). No name is linked inside the compounds
the language's term base lists (``no_tooltip`` in ``translation/<lang>/terms.yml``).

Parsing a page takes a noticeable part of a build, so each result is kept in
``<cache_dir>/glossary-links/``, keyed by the page's HTML, the language's glossary, the link's
target and this package's code: a rebuild after one edit parses that page again, not all of them.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from attn_site.i18n import split_source
from attn_site.plugins.base import SitePlugin, building_language, is_first_language
from attn_site.plugins.cache import DiskCache
from attn_site.plugins.glossary.config import GlossaryConfig
from attn_site.plugins.glossary.terms import Term, glossary_terms, link_terms, terms_on_page
from attn_site.term_base import TERM_BASES, tooltip_exclusions


class GlossaryPlugin(SitePlugin):
    config_class = GlossaryConfig
    config: GlossaryConfig

    def __init__(self) -> None:
        self.terms: dict[str, tuple[list[Term], bytes]] = {}  # language -> its terms, and their source
        self.never_inside: dict[str, tuple[str, ...]] = {}  # language -> compounds where no term is linked
        self.code = b""  # this package's code, which the links depend on
        self.store: DiskCache | None = None

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.terms.clear()

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if self.config.enabled and is_first_language(config):
            self.terms.clear()  # the glossaries may have changed since the last build of `mkdocs serve`
            self.never_inside.clear()
            self.code = b"".join(path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py")))
            self.store = self.cache(config, "glossary-links")
            self.store.evict()
        return config

    def _terms(self, config: MkDocsConfig, lang: str) -> tuple[list[Term], bytes]:
        if lang not in self.terms:
            docs = Path(config.docs_dir)
            source = (docs / f"{self.config.page}.{lang}.md").read_bytes()
            self.terms[lang] = glossary_terms(docs, lang, self.config.page), source
            self.never_inside[lang] = tooltip_exclusions(lang, Path(config.config_file_path).parent / TERM_BASES)
        return self.terms[lang]

    def _glossary_url(self, files: Files, config: MkDocsConfig, lang: str) -> str:
        """The URL of the glossary in ``lang``, relative to the site's root."""
        glossary = files.get_file_from_path(f"{self.config.page}.{lang}.md")
        if glossary is not None:
            return glossary.url
        prefix = "" if is_first_language(config) else f"{lang}/"
        return f"{prefix}{self.config.page}/"

    # the last of the page's HTML changes, after the figures' sizes (-10) and the outdated banner (-20),
    # whose words it links too; the search index reads the page later (on_page_context), links included
    @event_priority(-30)
    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        split = split_source(page.file.src_uri)
        if not self.config.enabled or split is None or split[2] != "md" or split[0] == self.config.page:
            return html
        assert self.store is not None  # set in on_config
        lang = building_language(config)
        terms, source = self._terms(config, lang)
        terms = terms_on_page(terms, split[0], self.config.only_on)
        glossary_url = get_relative_url(self._glossary_url(files, config, lang), page.url)
        linked_ids = ",".join(term.id for term in terms)
        never_inside = self.never_inside[lang]
        key = self.store.key(self.code, source, linked_ids, never_inside, glossary_url, self.config.link_class, html)
        linked = self.store.read_text(key, ".html")
        if linked is None:
            linked = link_terms(html, terms, glossary_url, self.config.link_class, never_inside)
            self.store.write_text(key, linked, ".html")
        return linked
