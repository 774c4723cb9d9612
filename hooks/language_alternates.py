"""Drop the ``<link rel="alternate" hreflang>`` tags from page heads.

Material's JavaScript fetches ``sitemap.xml`` next to each hreflang alternate,
expecting every language to be a separate site at its own root. With
mkdocs-static-i18n the alternates are pages (``../it/simple-attention/``), so
every page load makes four requests that fail with 404 and log console errors.
The language selector's links are already page-to-page, so nothing is lost
for readers; the tags are removed.
"""

from __future__ import annotations

import re

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

_HREFLANG_LINK = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


def _without_alternates(output: str) -> str:
    head_end = output.find("</head>")
    return _HREFLANG_LINK.sub("", output[:head_end]) + output[head_end:]


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    return _without_alternates(output)


def on_post_template(output: str, template_name: str, config: MkDocsConfig) -> str:
    # the "not found" pages are templates, not pages: they carry the same tags
    return _without_alternates(output) if template_name == "404.html" else output
