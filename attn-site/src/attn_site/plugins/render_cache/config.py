from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class RenderCacheConfig(SitePluginConfig):
    """``max_age_days``: entries unused for longer are deleted when a build starts."""

    max_age_days = c.Type(int, default=7)
