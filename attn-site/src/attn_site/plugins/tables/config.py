from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class TablesConfig(SitePluginConfig):
    """``map_marker``: the text a page carries where the map of the guide goes; ``agreement_marker``:
    where the agreement table goes; ``agreement_results``: the results it is made from (relative to
    mkdocs.yml, written by ``python -m attn_examples agreement --out``)."""

    map_marker = c.Type(str, default="<!-- guide-map -->")
    agreement_marker = c.Type(str, default="<!-- agreement-table -->")
    agreement_results = c.Type(str, default="docs/agreement/results.jsonl")
