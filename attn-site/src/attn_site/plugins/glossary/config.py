from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class GlossaryConfig(SitePluginConfig):
    """``page``: the glossary's stem in docs/ (``glossary`` for ``docs/glossary.<lang>.md``), the
    terms' source and the links' target; ``link_class``: the class of the links."""

    page = c.Type(str, default="glossary")
    link_class = c.Type(str, default="glossary-term")
