"""Tables the site derives from the nav and from the chapters' modules, so that none of them can drift.

- The **map of the guide** (the marker ``<!-- guide-map -->``, on the home page): one row per page of
  the nav but the lab notebooks and the page that shows the map, in the nav's order, with the page's title as the
  nav gives it in the language being built, the ``description`` of the page's front matter in that
  language, and the modules of ``attn_examples`` the page includes. A new page in the nav is a new row.
- The **agreement table** (``<!-- agreement-table -->``, on the page "agreement"): the records of
  ``docs/agreement/results.jsonl`` in the order of their chapters in the nav, each chapter under
  its title, and a "not measured yet" row for every example that a chapter module declares
  (:mod:`attn_examples.chapters`) and that run did not measure
  (:func:`attn_examples.agreement.markdown_table`), in the words the page's front matter gives under
  ``tables: agreement:`` (:class:`attn_examples.agreement.TableWords`, whose ``phrases`` translate the
  modules' English example names and notes; a new chapter's stay English until translated, and a test
  names them). The examples are read once
  per ``mkdocs`` command: under ``mkdocs serve``, an example added meanwhile shows after a restart.

- The **benchmarks' tables** (``<!-- benchmark-tables -->``) and **their targets**
  (``<!-- benchmark-targets -->``, both on the page "benchmarks"): the records of
  ``docs/benchmarks/cpu/results.jsonl`` (``make bench``) as :func:`attn_examples.bench.markdown_table`
  and :func:`attn_examples.bench.targets_table` write them, in the words the page's front matter gives
  under ``tables: benchmarks:`` (:class:`attn_examples.bench.TableWords`; English without them).
- The **decode benchmark's tables** (``<!-- decode-table -->``, on the page "kv-cache", and
  ``<!-- decode-gqa-table -->``, on the page "grouped-query-attention"): the records of
  ``docs/benchmarks/cpu/decode.jsonl`` and ``decode-gqa.jsonl`` (``make bench``) as
  :func:`attn_examples.bench.decode_table` writes them, in the words of ``tables: decode:``
  (:class:`attn_examples.bench.DecodeWords`).
- The **distributed benchmark's table** (``<!-- ring-table -->``, on the pages "attention-across-devices" and
  "benchmarks"): the records of ``docs/benchmarks/cpu/ring.jsonl`` (``make bench``) as
  :func:`attn_examples.bench.ring_table` writes them, in the words of ``tables: ring:``
  (:class:`attn_examples.bench.RingWords`).

The column titles of the map are the site's words (``words/<lang>.yml``, ``guide_map``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils.meta import get_data

from attn_site.i18n import split_source
from attn_site.pages import included_modules
from attn_site.plugins.base import SitePlugin, build_order, building_language
from attn_site.plugins.tables.config import TablesConfig
from attn_site.words import words_for

if TYPE_CHECKING:
    from attn_examples.agreement import TableWords as AgreementWords
    from attn_examples.bench import DecodeWords, RingWords, TableWords


def page_name(page: Page) -> str:
    """The page's source without its language: ``causal-attention.it.md`` → ``causal-attention``."""
    split = split_source(page.file.src_uri)
    return split[0] if split else page.file.src_uri.rsplit(".", 1)[0]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def guide_map(pages: list[Page], lang: str) -> str:
    """A Markdown table of ``pages``: title (linked), description and included modules, in ``lang``'s words."""
    words = words_for(lang)["guide_map"]
    lines = [f"| {words['page']} | {words['about']} | {words['code']} |", "| --- | --- | --- |"]
    for page in pages:
        markdown, meta = get_data(Path(page.file.abs_src_path or "").read_text(encoding="utf-8"))
        modules = ", ".join(f"`attn_examples.{module}`" for module in included_modules(markdown)) or "—"
        title = _cell(str(page.title))
        lines.append(f"| [{title}]({page_name(page)}.md) | {_cell(str(meta.get('description', '')))} | {modules} |")
    return "\n".join(lines)


def agreement_table(results: Path, titles: dict[str, str], words: AgreementWords | None = None) -> str:
    """The agreement table of ``results``, its rows in the order of ``titles`` (page name → title), in ``words``
    (English without them; an example's name or note they do not translate yet stays English)."""
    from attn_examples import agreement  # imports torch and every chapter module: only where the table is
    from attn_examples.chapters import Example
    from attn_examples.results import AgreementRecord, read_results

    env, records = read_results(results, AgreementRecord)
    order = list(titles)
    rows: list[AgreementRecord | Example] = [*records, *agreement.unmeasured(records)]
    rows.sort(key=lambda row: order.index(row.chapter) if row.chapter in order else len(order))
    words = words or agreement.ENGLISH

    def link(chapter: str) -> str:
        return f"[{_cell(titles.get(chapter, chapter))}]({chapter}.md)"

    return agreement.markdown_table(rows, env, link, words)


def _page_words(
    meta: Mapping[str, object], table: str, lang: str, default: str, english: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The words a page's front matter gives a table (``tables: <table>:``), with every key of ``english``;
    ``english`` itself on a page of the default language that gives none."""
    tables = meta.get("tables")
    words = tables.get(table) if isinstance(tables, dict) else None
    if words is None and lang == default:
        return english
    if not isinstance(words, dict):
        raise ValueError(f"the {lang} page gives no words for its tables (front matter tables: {table}:)")
    missing = sorted(set(english) - set(words))
    if missing:
        raise ValueError(f"the {lang} page's tables: {table}: lacks {', '.join(missing[:4])}, ...")
    extra = sorted(set(words) - set(english))
    if extra:
        raise ValueError(f"the {lang} page's tables: {table}: has unknown keys {extra}")
    return words


def agreement_words(meta: Mapping[str, object], lang: str, default: str) -> AgreementWords:
    """The words of the agreement table that a page's front matter gives (``tables: agreement:``).

    >>> agreement_words({}, "en", default="en")["not_measured_yet"]
    'not measured yet'
    """
    from attn_examples.agreement import COLUMNS, ENGLISH

    words = _page_words(meta, "agreement", lang, default, ENGLISH)
    if words is ENGLISH:
        return ENGLISH
    if not isinstance(words["columns"], dict) or set(words["columns"]) != set(COLUMNS):
        raise ValueError(f"the {lang} page's tables: agreement: columns: must name exactly {COLUMNS}")
    if not isinstance(words["phrases"], dict) or not words["phrases"]:
        raise ValueError(f"the {lang} page's tables: agreement: phrases: must translate the examples' names and notes")
    return cast("AgreementWords", words)


def benchmark_words(meta: Mapping[str, object], lang: str, default: str) -> TableWords:
    """The words of the benchmarks' tables that a page's front matter gives (``tables: benchmarks:``).

    >>> benchmark_words({}, "en", default="en")["heading"][:21]
    '**{mode}, {causal}**:'
    >>> benchmark_words({"tables": {"benchmarks": {"causal_yes": "sì"}}}, "it", default="en")
    Traceback (most recent call last):
    ...
    ValueError: the it page's tables: benchmarks: lacks causal, causal_no, error, fastest, ...
    """
    from attn_examples.bench import ENGLISH, MODES

    words = _page_words(meta, "benchmarks", lang, default, ENGLISH)
    if words is ENGLISH:
        return ENGLISH
    if not isinstance(words["modes"], dict) or set(words["modes"]) != set(MODES):
        raise ValueError(f"the {lang} page's tables: benchmarks: modes: must name exactly {MODES}")
    return cast("TableWords", words)


def decode_words(meta: Mapping[str, object], lang: str, default: str) -> DecodeWords:
    """The words of the decode table that a page's front matter gives (``tables: decode:``).

    >>> decode_words({}, "en", default="en")["new_tokens"]
    'new tokens'
    """
    from attn_examples.bench import DECODE_ENGLISH

    return cast("DecodeWords", _page_words(meta, "decode", lang, default, DECODE_ENGLISH))


def ring_words(meta: Mapping[str, object], lang: str, default: str) -> RingWords:
    """The words of the distributed benchmark's table that a page's front matter gives (``tables: ring:``).

    >>> ring_words({}, "en", default="en")["ranks"]
    'processes'
    """
    from attn_examples.bench import RING_ENGLISH

    return cast("RingWords", _page_words(meta, "ring", lang, default, RING_ENGLISH))


def ring_results_table(results: Path, words: RingWords) -> str:
    """The distributed benchmark's table, made from ``results`` in ``words``."""
    from attn_examples.bench import ring_table  # imports torch: only where the table is
    from attn_examples.results import RingRecord, read_results

    env, records = read_results(results, RingRecord)
    return ring_table(records, env, words)


def decode_results_table(results: Path, words: DecodeWords) -> str:
    """The decode benchmark's table, made from ``results`` in ``words``."""
    from attn_examples.bench import decode_table  # imports torch: only where the table is
    from attn_examples.results import DecodeRecord, read_results

    env, records = read_results(results, DecodeRecord)
    return decode_table(records, env, words)


def benchmark_tables(results: Path, words: TableWords) -> tuple[str, str]:
    """The benchmarks' tables and their targets' table, made from ``results`` in ``words``."""
    from attn_examples.bench import markdown_table, targets_table  # imports torch: only where the tables are
    from attn_examples.results import BenchRecord, read_results

    env, records = read_results(results, BenchRecord)
    return markdown_table(records, env, words), targets_table(records, words=words)


class TablesPlugin(SitePlugin):
    config_class = TablesConfig
    config: TablesConfig

    def __init__(self) -> None:
        self.pages: list[Page] = []  # the nav's pages in this language, in order

    @event_priority(-110)  # after mkdocs-static-i18n (-100) has given the nav its titles in this language
    def on_nav(self, nav: Navigation, *, config: MkDocsConfig, files: Files) -> Navigation | None:
        self.pages = list(nav.pages)
        return nav

    # as the translation-status table: after mkdocs-static-i18n's (50); the links are to language-free names
    @event_priority(0)
    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled:
            return markdown
        lang, default = building_language(config), build_order(config)[0]
        if self.config.map_marker in markdown:
            listed = [p for p in self.pages if p.file.src_uri.endswith(".md") and p.file != page.file]
            markdown = markdown.replace(self.config.map_marker, guide_map(listed, lang))
        if self.config.agreement_marker in markdown:
            titles = {page_name(p): str(p.title) for p in self.pages}
            results = self.root(config) / self.config.agreement_results
            try:
                table = agreement_table(results, titles, agreement_words(page.meta, lang, default))
            except ValueError as error:
                raise PluginError(str(error)) from error
            markdown = markdown.replace(self.config.agreement_marker, table)
        if self.config.benchmark_marker in markdown or self.config.targets_marker in markdown:
            try:
                benchmark = benchmark_words(page.meta, lang, default)
            except ValueError as error:
                raise PluginError(str(error)) from error
            tables, targets = benchmark_tables(self.root(config) / self.config.benchmark_results, benchmark)
            markdown = markdown.replace(self.config.benchmark_marker, tables)
            markdown = markdown.replace(self.config.targets_marker, targets)
        decode_tables = {
            self.config.decode_marker: self.config.decode_results,
            self.config.decode_gqa_marker: self.config.decode_gqa_results,
        }
        for marker, source in decode_tables.items():
            if marker in markdown:
                try:
                    decode = decode_words(page.meta, lang, default)
                except ValueError as error:
                    raise PluginError(str(error)) from error
                markdown = markdown.replace(marker, decode_results_table(self.root(config) / source, decode))
        if self.config.ring_marker in markdown:
            try:
                ring = ring_words(page.meta, lang, default)
            except ValueError as error:
                raise PluginError(str(error)) from error
            markdown = markdown.replace(
                self.config.ring_marker, ring_results_table(self.root(config) / self.config.ring_results, ring)
            )
        return markdown
