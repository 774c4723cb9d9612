from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class MathConfig(SitePluginConfig):
    """``katex_dir``: the KaTeX package that typesets, relative to mkdocs.yml (package-lock.json pins it);
    ``node``: the Node.js command that runs it."""

    katex_dir = c.Type(str, default="node_modules/katex")
    node = c.Type(str, default="node")
