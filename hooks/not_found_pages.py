"""Give every language its own "not found" page, and keep the site's root one in English.

MkDocs renders ``404.html`` once per build, and mkdocs-static-i18n runs one
build per language into the same folder, so the root ``404.html`` ends up in
the last language built (mkdocs-static-i18n issue 284). This hook writes each
language's page to ``<lang>/404.html`` and keeps the default language's at
the root, where web servers look for it.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig

from attn_site.i18n import build_order

_default_page: dict[str, str] = {}


def on_post_template(output: str, template_name: str, config: MkDocsConfig) -> str:
    if template_name != "404.html":
        return output
    lang, default = config.theme["language"], build_order(config)[0]
    if lang == default:
        _default_page["html"] = output
        return output
    target = Path(config.site_dir) / lang / "404.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(output, encoding="utf-8")
    # the root page is the default language's, whichever build runs last
    return _default_page.get("html", output)
