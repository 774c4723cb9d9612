"""What mkdocs-static-i18n leaves for a site whose languages share one root.

1. **A "not found" page per language.** MkDocs renders ``404.html`` once per build, and
   mkdocs-static-i18n runs one build per language into the same folder, so the root ``404.html``
   ends up in the last language built (mkdocs-static-i18n issue 284). Each language's page is
   written to ``<lang>/404.html``; the root keeps the default language's, where servers look.
2. **No hreflang alternates in page heads.** Material's JavaScript fetches ``sitemap.xml`` beside
   each ``<link rel="alternate" hreflang>``, expecting every language to be a site at its own
   root; here the alternates are pages (``../it/simple-attention/``), so every page load made four
   requests that failed with 404 and logged console errors. The language selector already links
   page to page, so the tags are dropped.
3. **The site's own words in the page's language.** Templates read ``words`` (from
   ``attn_site/words/<lang>.yml``, see :mod:`attn_site.words`) for the download buttons and the
   "not found" page; the title of each heading's permanent link (Python-Markdown's ``toc`` writes
   "Permanent link" in every language) is replaced by the page's language's.
4. **A search index per language** (:mod:`.search`): each language's pages search their own
   language's pages alone, and load a fifth of the index.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from attn_site.plugins.base import SitePlugin, build_order, building_language, is_last_language
from attn_site.plugins.languages.config import LanguagesConfig
from attn_site.plugins.languages.search import SEARCH_INDEX, language_index, with_language_base
from attn_site.words import words_for

# the title Python-Markdown's toc extension gives each heading's link (mkdocs.yml keeps its default)
PERMALINK_TITLE = 'title="Permanent link"'
_HREFLANG_LINK = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


def without_alternates(output: str) -> str:
    """``output`` without the hreflang links of its head.

    >>> without_alternates('<head><link rel="alternate" href="../it/" hreflang="it"></head><p>x</p>')
    '<head></head><p>x</p>'
    """
    head_end = output.find("</head>")
    return _HREFLANG_LINK.sub("", output[:head_end]) + output[head_end:]


class LanguagesPlugin(SitePlugin):
    config_class = LanguagesConfig
    config: LanguagesConfig

    def __init__(self) -> None:
        self.default_not_found: str | None = None  # the default language's 404 page, for the root
        self.default_index: str | None = None  # the default language's search index, for the root

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.default_not_found = None
        self.default_index = None

    def on_env(self, env: Environment, *, config: MkDocsConfig, files: Files) -> Environment | None:
        if self.config.enabled:
            env.globals["words"] = words_for(building_language(config))  # each language builds its own env
        return env

    def _own_language(self, output: str, config: MkDocsConfig) -> str:
        """A page or template of the language being built: no alternates, its language's search index."""
        lang = building_language(config)
        output = without_alternates(output).replace(PERMALINK_TITLE, f'title="{words_for(lang)["permalink"]}"')
        return output if lang == build_order(config)[0] else with_language_base(output, lang)

    @event_priority(-50)  # after the theme and the i18n plugin have rendered the page
    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str | None:
        return self._own_language(output, config) if self.config.enabled else output

    @event_priority(-50)  # after Material's search plugin (0) wrote this build's index, before i18n (-100) joins them
    def _keep_language_index(self, config: MkDocsConfig) -> None:
        written = Path(config.site_dir) / SEARCH_INDEX
        if not self.config.enabled or not written.is_file():
            return
        lang, default = building_language(config), build_order(config)[0]
        index = language_index(written.read_text(encoding="utf-8"), lang, default)
        if lang == default:
            self.default_index = index
        else:
            target = Path(config.site_dir) / lang / SEARCH_INDEX
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(index, encoding="utf-8")

    @event_priority(-150)  # after mkdocs-static-i18n wrote its index of every language at the root
    def _root_index_of_the_default_language(self, config: MkDocsConfig) -> None:
        # i18n leaves the last language current when its own on_post_build has built them all
        if self.config.enabled and self.default_index is not None and is_last_language(config):
            (Path(config.site_dir) / SEARCH_INDEX).write_text(self.default_index, encoding="utf-8")

    on_post_build = CombinedEvent(_keep_language_index, _root_index_of_the_default_language)

    @event_priority(-30)  # before attn/offline (-40) names the page's inline scripts in its policy
    def _not_found_page_in_its_language(
        self, output_content: str, template_name: str, config: MkDocsConfig
    ) -> str | None:
        if not self.config.enabled or template_name != "404.html":  # the "not found" pages are templates, not pages
            return output_content
        return self._own_language(output_content, config)

    @event_priority(-50)  # after attn/offline (-40) gave the page its policy
    def _not_found_page_per_language(self, output_content: str, template_name: str, config: MkDocsConfig) -> str | None:
        if not self.config.enabled or template_name != "404.html":
            return output_content
        lang = building_language(config)
        if lang == build_order(config)[0]:
            self.default_not_found = output_content
            return output_content
        target = Path(config.site_dir) / lang / "404.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(output_content, encoding="utf-8")
        return self.default_not_found or output_content  # the root page stays the default language's

    on_post_template = CombinedEvent(_not_found_page_in_its_language, _not_found_page_per_language)
