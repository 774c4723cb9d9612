from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class ModelConfig(SitePluginConfig):
    """``path``: where the site serves the trained tiny GPT's weights, relative to the site's root (the
    explorer's script finds them there, beside its own folder)."""

    path = c.Type(str, default="assets/tiny-gpt.safetensors")
