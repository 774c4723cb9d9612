"""Tell readers when a translation lags behind its English page, and list how every translation stands.

Each translated page records the hash of the English page it was made from (:mod:`attn_site.i18n`).
When the English page has changed since, this plugin puts a banner, in the language being built,
at the top of the translation, with a link to the English page; a page never stamped (still the
English text, as a new chapter's translations start) gets a banner that says it is not translated
yet. On the page that carries the marker (``<!-- translation-status -->``, the page
``translation-status``) it replaces the marker with a table of every page × language: current,
outdated, untranslated or missing. The words of all three come from ``attn_site/words/<lang>.yml``
(``outdated_banner``, ``untranslated_banner``, ``translation_status``; :mod:`attn_site.words`).
"""

from __future__ import annotations

import html
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from attn_site.i18n import SOURCE, TRANSLATIONS, split_source, state_of, status
from attn_site.plugins.base import SitePlugin, building_language
from attn_site.plugins.translations.config import TranslationsConfig
from attn_site.words import words_for


def status_table(lang: str, docs: Path) -> str:
    """A Markdown table of every page × translation of ``docs``, in the words of ``lang``."""
    words = words_for(lang)["translation_status"]
    rows = status(docs)
    lines = [f"| {words['page']} | " + " | ".join(TRANSLATIONS) + " |", "|---|" + ":---:|" * len(TRANSLATIONS)]
    for stem, suffix in sorted({(r.stem, r.suffix) for r in rows}, key=lambda key: (key[1], key[0])):
        cells = {r.lang: r.state for r in rows if (r.stem, r.suffix) == (stem, suffix)}
        name = f"notebooks/{stem}{suffix}" if suffix == ".ipynb" else f"{stem}{suffix}"
        lines.append(f"| `{name}` | " + " | ".join(words[cells[t]] for t in TRANSLATIONS) + " |")
    return "\n".join(lines)


BANNERS = ("outdated", "untranslated")  # the states whose pages get a banner


def translation_banner(lang: str, state: str, english_url: str) -> str:
    """The banner of a translation in ``state`` (one of ``BANNERS``) in ``lang``, linking to ``english_url``."""
    if state not in BANNERS:
        raise ValueError(f"state must be one of {BANNERS}, got {state!r}")
    words = words_for(lang)[f"{state}_banner"]
    link = f'<a href="{html.escape(english_url)}" hreflang="{SOURCE}">{words["link"]}</a>'
    return (
        f'<div class="admonition warning translation-{state}"><p class="admonition-title">{words["title"]}</p>'
        f"<p>{words['body'].format(link=link)}</p></div>\n"
    )


class TranslationsPlugin(SitePlugin):
    config_class = TranslationsConfig
    config: TranslationsConfig

    # after mkdocs-static-i18n's (50), which rewrites the page's links; the table's own code spans need none
    @event_priority(0)
    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if self.config.enabled and self.config.marker in markdown:
            markdown = markdown.replace(
                self.config.marker, status_table(building_language(config), Path(config.docs_dir))
            )
        return markdown

    # after the figures' sizes (-10), before the glossary links (-30), which link the banner's words too,
    # as the hooks did; the search index reads the page later (on_page_context), banner included
    @event_priority(-20)
    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        lang = building_language(config)
        split = split_source(page.file.src_uri)
        if not (self.config.enabled and self.config.banner) or lang == SOURCE or split is None:
            return html
        stem, _, suffix = split
        english = Path(config.docs_dir) / f"{stem}.{SOURCE}.{suffix}"
        state = state_of(english, lang) if english.exists() else "current"
        if state not in BANNERS:
            return html
        english_url = get_relative_url(page.url.removeprefix(f"{lang}/"), page.url)
        return translation_banner(lang, state, english_url) + html
