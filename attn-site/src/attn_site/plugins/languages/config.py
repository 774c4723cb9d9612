from __future__ import annotations

from attn_site.plugins.base import SitePluginConfig


class LanguagesConfig(SitePluginConfig):
    """No options beyond the common ones."""
