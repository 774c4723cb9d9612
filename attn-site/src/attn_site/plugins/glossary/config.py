from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class GlossaryConfig(SitePluginConfig):
    """``page``: the glossary's stem in docs/ (``glossary`` for ``docs/glossary.<lang>.md``), the
    terms' source and the links' target; ``link_class``: the class of the links; ``only_on``: term id
    → the pages (stems) where its name has the glossary's meaning, for a term whose name is also an
    everyday word (encoder *memory* is not a GPU's memory): it is linked there alone."""

    page = c.Type(str, default="glossary")
    link_class = c.Type(str, default="glossary-term")
    only_on = c.Type(dict, default={})
