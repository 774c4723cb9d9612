from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class TranslationsConfig(SitePluginConfig):
    """``marker``: the text a page carries where the status table of every translation goes;
    ``banner``: whether an outdated translation gets a banner linking to its English page."""

    marker = c.Type(str, default="<!-- translation-status -->")
    banner = c.Type(bool, default=True)
