"""The guide's figures, each drawn from the data its chapter's module declares (needs matplotlib: the extra ``plot``).

A chapter module lists its figures in ``FIGURES`` (:mod:`attn_examples.chapters`): a name and a
function that returns the figure's :class:`~attn_examples.chapters.Heatmap` or
:class:`~attn_examples.chapters.Lines`. The words drawn on a
figure come from the chapter's page in each language, under ``figures`` in its front matter
(:mod:`attn_site.pages`): at least a ``title``, ``head-1``, ``head-2``, … for the panels of several
heads, ``x`` and ``y`` for the axes of a line chart, and any of the shared labels ``query``, ``key``,
``weight`` and ``masked`` that this figure words in its own way; the shared ones are the site's words
(``words/<lang>.yml``, ``figure``).
A figure is drawn once per scheme, laid out for the widest of its translations, and each
language's SVG then gets its own words: the text of the SVG stays text. The site draws them at build time
(the plugin ``attn/figures``, :mod:`attn_site.plugins.figures`), so they always show what the code computes::

    python -m attn_site.figures --out figures --lang en it   # figures/<lang>/<chapter>/<name>.<theme>.svg
"""

from __future__ import annotations

import argparse
import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from attn_examples.bench import IMPLEMENTATIONS, MODES
from attn_examples.chapters import Heatmap, Lines, chapter_modules
from attn_examples.results import BenchRecord, WindowRecord, read_results
from attn_site.i18n import LANGUAGES
from attn_site.pages import figure_words
from attn_site.plot import THEMES, Curve, attention_heatmap, heads_heatmaps, line_chart, to_svg
from attn_site.words import words_for

DOCS = Path("docs")
BENCHMARK_RESULTS = Path("benchmarks/cpu/results.jsonl")  # under the docs folder, written by `make bench`
WINDOW_RESULTS = Path("benchmarks/cpu/window.jsonl")  # bench --window, also part of `make bench`

Text = Callable[[str], str]


@dataclass(frozen=True)
class Timings:
    """Median times of the benchmarks, one panel per ``(mode, causal)``: the curves of its implementations."""

    panels: tuple[tuple[str, bool, tuple[Curve, ...]], ...]


def benchmark_timings(docs: Path = DOCS) -> Timings:
    """The CPU benchmarks' median times, read from ``docs/benchmarks/cpu/results.jsonl`` (``make bench``).

    >>> timings = benchmark_timings()
    >>> [(mode, causal) for mode, causal, _ in timings.panels][:2]
    [('forward', False), ('forward', True)]
    """
    _, records = read_results(docs / BENCHMARK_RESULTS, BenchRecord)
    panels = []
    for mode in MODES:
        for causal in (False, True):
            curves = []
            for implementation in IMPLEMENTATIONS:
                rows = sorted(
                    (r for r in records if (r.implementation, r.mode, r.causal) == (implementation.name, mode, causal)),
                    key=lambda r: r.tokens,
                )
                if rows:
                    dashed = implementation.kind == "module"
                    curves.append(
                        Curve(implementation.name, [r.tokens for r in rows], [r.median_ms for r in rows], dashed)
                    )
            if curves:
                panels.append((mode, causal, tuple(curves)))
    return Timings(tuple(panels))


def _window_lines(docs: Path, measure: Callable[[WindowRecord], float]) -> Lines:
    """One ``measure`` of each ``bench --window`` record against the number of tokens, log-log, one line per
    implementation, read from ``docs/benchmarks/cpu/window.jsonl`` (``make bench``)."""
    _, records = read_results(docs / WINDOW_RESULTS, WindowRecord)
    tokens = sorted({r.tokens for r in records})
    series = {
        name: [next(measure(r) for r in records if (r.implementation, r.tokens) == (name, t)) for t in tokens]
        for name in dict.fromkeys(r.implementation for r in records)
    }
    return Lines(tokens, series, log=True, xticks=tokens)


def window_timings(docs: Path = DOCS) -> Lines:
    """Median milliseconds of causal attention in full and within a sliding window against the number of tokens.

    >>> sorted(window_timings().series)
    ['SDPA, band mask', 'causal SDPA', 'local_attention']
    """
    return _window_lines(docs, lambda record: record.median_ms)


def window_memory(docs: Path = DOCS) -> Lines:
    """Peak extra MiB (the tensors PyTorch's operators allocate) of the same runs against the number of tokens.

    >>> window_memory().series["local_attention"][0] > 0
    True
    """
    return _window_lines(docs, lambda record: record.peak_extra_mib)


@dataclass(frozen=True)
class GuideFigure:
    """One figure of a page: ``name`` is ``"<page>/<figure>"``, ``data(docs)`` gives what it shows."""

    name: str
    data: Callable[[Path], Heatmap | Lines | Timings]


def _chapter_figure(data: Callable[[], Heatmap | Lines]) -> Callable[[Path], Heatmap | Lines]:
    """A chapter module's figure, which needs no file of the docs."""
    return lambda docs: data()


FIGURES = (
    *(
        GuideFigure(f"{module.CHAPTER}/{name}", _chapter_figure(data))
        for module in chapter_modules()
        for name, data in getattr(module, "FIGURES", {}).items()
    ),
    GuideFigure("benchmarks/time", benchmark_timings),
    GuideFigure("sparse-attention/time", window_timings),
    GuideFigure("sparse-attention/memory", window_memory),
)


@cache
def _entries(name: str, docs: Path) -> dict[str, dict[str, str]]:
    """Every word of figure ``name``: key → language → text, the page's own over the shared ones."""
    chapter, figure = name.split("/")
    entries: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        page = docs / f"{chapter}.{lang}.md"
        if not page.is_file():
            raise FileNotFoundError(f"the figure {name!r} takes its words from {page}, which does not exist")
        for key, text in {**words_for(lang)["figure"], **figure_words(page).get(figure, {})}.items():
            entries.setdefault(key, {})[lang] = text
    for key, by_lang in entries.items():
        missing = [lang for lang in LANGUAGES if lang not in by_lang]
        if missing:
            pages = ", ".join(str(docs / f"{chapter}.{lang}.md") for lang in missing)
            raise KeyError(f"{pages}: no words {key!r} for the figure {figure!r} under figures in the front matter")
    return entries


def text_for(name: str, lang: str, docs: Path = DOCS) -> Text:
    """The words of figure ``name`` in ``lang``: its page's own first, then the site's shared ones.

    >>> text_for("simple-attention/weights", "it")("key")
    'chiave (token a cui si presta attenzione)'
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    entries = _entries(name, docs)

    def text(key: str) -> str:
        if key not in entries:
            raise KeyError(
                f"no words {key!r} for the figure {name!r}: add them under figures in its pages' front matter"
            )
        return entries[key][lang]

    return text


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _widest(name: str, docs: Path) -> dict[str, str]:
    """For each key of figure ``name``, its widest translation: the figure is laid out for it."""
    return {key: max(by_lang.values(), key=_display_width) for key, by_lang in _entries(name, docs).items()}


_SVG_TEXT = re.compile(r"(<text\b[^>]*>)([^<]*)(</text>)")


def localise_svg(svg: str, name: str, lang: str, docs: Path = DOCS) -> str:
    """Put ``lang``'s words into an SVG of figure ``name`` drawn with the widest ones (``draw_svg``)."""
    own = text_for(name, lang, docs)
    words = {drawn: own(key) for key, drawn in _widest(name, docs).items()}
    return _SVG_TEXT.sub(
        lambda m: (
            m.group(1)
            + html.escape(words.get(html.unescape(m.group(2)), html.unescape(m.group(2))), quote=False)
            + m.group(3)
        ),
        svg,
    )


def draw_svg(figure: GuideFigure, theme: str, docs: Path = DOCS) -> str:
    """``figure`` in ``theme`` as SVG, with the widest translation of each of its words."""
    widest = _widest(figure.name, docs)

    def text(key: str) -> str:
        if key not in widest:
            raise KeyError(f"no words {key!r} for the figure {figure.name!r}: add them under figures in its pages")
        return widest[key]

    return to_svg(_drawn(figure.data(docs), text, theme))


def _drawn(data: Heatmap | Lines | Timings, text: Text, theme: str):
    """The matplotlib figure of ``data`` in ``theme``, with the words of ``text``."""
    if isinstance(data, Timings):
        # one word per panel (mode and mask together): each text of the SVG is one entry of the page's words
        panels = [(text(f"{mode}-{'causal' if causal else 'full'}"), curves) for mode, causal, curves in data.panels]
        return line_chart(panels, title=text("title"), xlabel=text("tokens"), ylabel=text("time"), theme=theme)
    if isinstance(data, Lines):
        curves = [Curve(name, data.x, values) for name, values in data.series.items()]
        return line_chart(
            [("", curves)],
            title=text("title"),
            xlabel=text("x"),
            ylabel=text("y"),
            log=data.log,
            xticks=data.xticks,
            theme=theme,
        )
    heatmap = data
    words = {"title": text("title"), "xlabel": text("key"), "ylabel": text("query"), "colorbar_label": text("weight")}
    if heatmap.hidden is not None:
        words |= {"masked_label": text("masked")}
    if heatmap.weights.dim() == 2:
        return attention_heatmap(
            heatmap.weights,
            heatmap.queries,
            heatmap.keys,
            hidden=heatmap.hidden,
            annotate=heatmap.annotate,
            tiles=heatmap.tiles,
            signed=heatmap.signed,
            theme=theme,
            **words,
        )
    if heatmap.tiles is not None or heatmap.signed:
        raise ValueError("tiles and signed colours are drawn for a single head, got weights of several heads")
    return heads_heatmaps(
        heatmap.weights,
        heatmap.queries,
        heatmap.keys,
        head_titles=[text(f"head-{h}") for h in range(1, heatmap.weights.shape[0] + 1)],
        hidden=heatmap.hidden,
        annotate=heatmap.annotate,
        per_row=heatmap.per_row,
        theme=theme,
        **words,
    )


def write_figures(
    out_dir: Path, languages: Iterable[str] = LANGUAGES, names: Iterable[str] | None = None, docs: Path = DOCS
) -> list[Path]:
    """Draw figures (all by default) in each language and scheme: ``out_dir/<lang>/<name>.<theme>.svg``.

    Their words come from the chapters' pages under ``docs``.
    """
    wanted = [f.name for f in FIGURES] if names is None else list(names)
    unknown = sorted(set(wanted) - {f.name for f in FIGURES})
    if unknown:
        raise ValueError(f"unknown figures {unknown}; the guide has {[f.name for f in FIGURES]}")
    languages = list(languages)
    for lang in languages:
        if lang not in LANGUAGES:
            raise ValueError(f"languages must be among {LANGUAGES}, got {lang!r}")
    written = []
    for figure in (f for f in FIGURES if f.name in wanted):
        for theme in THEMES:
            svg = draw_svg(figure, theme, docs)
            for lang in languages:
                path = out_dir / lang / f"{figure.name}.{theme}.svg"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(localise_svg(svg, figure.name, lang, docs), encoding="utf-8")
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_site.figures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write <lang>/<name>.<theme>.svg into")
    parser.add_argument("--lang", nargs="+", default=list(LANGUAGES), choices=LANGUAGES)
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[f.name for f in FIGURES])
    parser.add_argument("--docs", type=Path, default=DOCS, help="the pages holding the figures' words")
    args = parser.parse_args(argv)
    for path in write_figures(args.out, args.lang, args.only, args.docs):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
