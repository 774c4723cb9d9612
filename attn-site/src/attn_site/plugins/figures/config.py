from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class FiguresConfig(SitePluginConfig):
    """``code``: the folders, relative to mkdocs.yml, whose files the figures are drawn from (the
    chapters' code and the drawing's): an edit there redraws them; ``folder``: where the pages find
    them, ``<folder>/<chapter>/<name>.<theme>.svg``; ``lazy``: ``loading="lazy"`` on their images."""

    code = c.ListOfItems(c.Type(str), default=["src", "attn-site/src"])
    folder = c.Type(str, default="figures")
    lazy = c.Type(bool, default=True)
