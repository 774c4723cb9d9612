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
   ``attn_site/words/<lang>.yml``, see :mod:`attn_site.words`) for the notebook download button
   and the "not found" page.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from attn_site.plugins.base import SitePlugin, build_order, building_language
from attn_site.plugins.languages.config import LanguagesConfig
from attn_site.words import words_for

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

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.default_not_found = None

    def on_env(self, env: Environment, *, config: MkDocsConfig, files: Files) -> Environment | None:
        if self.config.enabled:
            env.globals["words"] = words_for(building_language(config))  # each language builds its own env
        return env

    @event_priority(-50)  # after the theme and the i18n plugin have rendered the page
    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str | None:
        return without_alternates(output) if self.config.enabled else output

    @event_priority(-50)
    def on_post_template(self, output_content: str, template_name: str, config: MkDocsConfig) -> str | None:
        if not self.config.enabled or template_name != "404.html":
            return output_content
        output = without_alternates(output_content)  # the "not found" pages are templates, not pages
        lang = building_language(config)
        if lang == build_order(config)[0]:
            self.default_not_found = output
            return output
        target = Path(config.site_dir) / lang / "404.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(output, encoding="utf-8")
        return self.default_not_found or output  # the root page stays the default language's
