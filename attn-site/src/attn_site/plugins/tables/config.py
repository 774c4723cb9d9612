from __future__ import annotations

from mkdocs.config import config_options as c

from attn_site.plugins.base import SitePluginConfig


class TablesConfig(SitePluginConfig):
    """``map_marker``: the text a page carries where the map of the guide goes; ``agreement_marker``:
    where the agreement table goes; ``agreement_results``: the results it is made from (relative to
    mkdocs.yml, written by ``python -m attn_examples agreement --out``); ``benchmark_marker`` and
    ``targets_marker``: where the benchmarks' tables and their targets go, made from
    ``benchmark_results`` (written by ``make bench``) in the words of the page's front matter;
    ``decode_marker``: where the decode benchmark's table goes, made from ``decode_results``;
    ``decode_gqa_marker``: where its table by number of key-value heads goes, made from ``decode_gqa_results``;
    ``ring_marker``: where the distributed benchmark's table goes, made from ``ring_results``."""

    map_marker = c.Type(str, default="<!-- guide-map -->")
    agreement_marker = c.Type(str, default="<!-- agreement-table -->")
    agreement_results = c.Type(str, default="docs/agreement/results.jsonl")
    benchmark_marker = c.Type(str, default="<!-- benchmark-tables -->")
    targets_marker = c.Type(str, default="<!-- benchmark-targets -->")
    benchmark_results = c.Type(str, default="docs/benchmarks/cpu/results.jsonl")
    decode_marker = c.Type(str, default="<!-- decode-table -->")
    decode_results = c.Type(str, default="docs/benchmarks/cpu/decode.jsonl")
    decode_gqa_marker = c.Type(str, default="<!-- decode-gqa-table -->")
    decode_gqa_results = c.Type(str, default="docs/benchmarks/cpu/decode-gqa.jsonl")
    ring_marker = c.Type(str, default="<!-- ring-table -->")
    ring_results = c.Type(str, default="docs/benchmarks/cpu/ring.jsonl")
