from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class ListingsConfig(SitePluginConfig):
    """``folder``: where the pages' code files go in each language's site."""

    folder = c.Type(str, default="code")
