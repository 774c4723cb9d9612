from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class NotebooksConfig(SitePluginConfig):
    """``execute``: run the lab notebooks (their outputs cached by code and ``src/``), else render them
    as committed, without outputs; ``workers``: kernels side by side (default: one per CPU core);
    ``timeout``: seconds a cell may run; ``convert_ahead``: in the first language's build, convert the other
    languages' notebooks to HTML in a background process (:mod:`.ahead`)."""

    execute = c.Type(bool, default=True)
    workers = c.Optional(c.Type(int))
    timeout = c.Type(int, default=600)
    convert_ahead = c.Type(bool, default=True)
