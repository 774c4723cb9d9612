"""The guide's figures, each drawn from its chapter's own code (needs matplotlib: the extra ``plot``).

Every chapter with a module has at least one figure here, in each colour
scheme of the site and each language (the words come from ``figures.yml``).
A figure is drawn once per scheme, laid out for the widest of its
translations, and each language's SVG then gets its own words: the text of
the SVG stays text. The site draws them at build time
(the plugin ``attn/figures``, :mod:`attn_site.plugins.figures`), so they always show what the code computes::

    python -m attn_site.figures --out figures --lang en it   # figures/<lang>/<name>.<theme>.svg
"""

from __future__ import annotations

import argparse
import html
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypedDict

import torch
import yaml

from attn_examples import averaging, backward, causal, cross, flash, multihead, self_attention, simple
from attn_site.i18n import LANGUAGES
from attn_site.plot import THEMES, attention_heatmap, heads_heatmaps, to_svg

TEXT = Path(__file__).with_name("figures.yml")

Text = Callable[[str], str]


class _Labels(TypedDict):
    """The axis and colour bar labels every figure passes to ``attention_heatmap`` or ``heads_heatmaps``."""

    xlabel: str
    ylabel: str
    colorbar_label: str


@dataclass(frozen=True)
class GuideFigure:
    """One figure of a chapter: ``name`` is ``"<chapter>/<figure>"``, ``draw(text, theme)`` makes it."""

    name: str
    draw: Callable[[Text, str], object]


@cache
def _all_text() -> dict[str, dict[str, dict[str, str]]]:
    return yaml.safe_load(TEXT.read_text(encoding="utf-8"))


def _entries(name: str) -> dict[str, dict[str, str]]:
    return {**_all_text()["common"], **_all_text().get(name, {})}


def text_for(name: str, lang: str) -> Text:
    """The words of figure ``name`` in ``lang``: its own keys first, then the common ones.

    >>> text_for("simple-attention/weights", "it")("key")
    'chiave (token a cui si presta attenzione)'
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    entries = _entries(name)

    def text(key: str) -> str:
        if key not in entries:
            raise KeyError(f"figures.yml has no text {key!r} for the figure {name!r}")
        return entries[key][lang]

    return text


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _widest(name: str) -> dict[str, str]:
    """For each key of figure ``name``, its widest translation: the figure is laid out for it."""
    return {key: max(by_lang.values(), key=_display_width) for key, by_lang in _entries(name).items()}


_SVG_TEXT = re.compile(r"(<text\b[^>]*>)([^<]*)(</text>)")


def localise_svg(svg: str, name: str, lang: str) -> str:
    """Put ``lang``'s words into an SVG of figure ``name`` drawn with the widest ones (``draw_svg``)."""
    own = text_for(name, lang)
    words = {drawn: own(key) for key, drawn in _widest(name).items()}
    return _SVG_TEXT.sub(
        lambda m: (
            m.group(1)
            + html.escape(words.get(html.unescape(m.group(2)), html.unescape(m.group(2))), quote=False)
            + m.group(3)
        ),
        svg,
    )


def draw_svg(figure: GuideFigure, theme: str) -> str:
    """``figure`` in ``theme`` as SVG, with the widest translation of each of its words."""
    widest = _widest(figure.name)

    def text(key: str) -> str:
        if key not in widest:
            raise KeyError(f"figures.yml has no text {key!r} for the figure {figure.name!r}")
        return widest[key]

    return to_svg(figure.draw(text, theme))


def _future(tokens: int) -> torch.Tensor:
    return ~causal.causal_mask(tokens)


def _positions(tokens: int) -> list[str]:
    return [str(t) for t in range(1, tokens + 1)]


def _labels(text: Text) -> _Labels:
    return {"xlabel": text("key"), "ylabel": text("query"), "colorbar_label": text("weight")}


def _simple_weights(text: Text, theme: str):
    weights = simple.attention_matrix(simple.hello_shiny_sun())
    return attention_heatmap(weights, simple.TOKENS, title=text("title"), theme=theme, **_labels(text))


def _averaging_matrix(text: Text, theme: str):
    tokens = 8
    return attention_heatmap(
        averaging.averaging_matrix(tokens),
        _positions(tokens),
        title=text("title"),
        mask=_future(tokens),
        masked_label=text("masked"),
        theme=theme,
        **_labels(text),
    )


def _data_dependent_head(text: Text, theme: str):
    torch.manual_seed(1337)  # as the chapter's example: the head first, then its inputs
    head = averaging.DataDependentHead(d_in=32, head_size=16, context_length=8)
    inputs = torch.randn(4, 8, 32)
    with torch.no_grad():
        weights = head.weights(inputs)[0]
    return attention_heatmap(
        weights,
        _positions(8),
        title=text("title"),
        mask=_future(8),
        masked_label=text("masked"),
        theme=theme,
        **_labels(text),
    )


def _initialisation(text: Text, theme: str):
    torch.manual_seed(0)  # as the chapter's example
    x_wide = torch.randn(8, 512)
    torch.manual_seed(1)
    wide_v1 = self_attention.SelfAttentionV1(d_in=512, d_out=64)
    wide_v2 = self_attention.SelfAttentionV2(d_in=512, d_out=64)
    with torch.no_grad():
        weights = torch.stack(
            [
                self_attention.attention_weights(x_wide @ wide_v1.W_query, x_wide @ wide_v1.W_key),
                self_attention.attention_weights(wide_v2.W_query(x_wide), wide_v2.W_key(x_wide)),
            ]
        )
    return heads_heatmaps(
        weights,
        _positions(8),
        head_titles=[text("first"), text("second")],
        title=text("title"),
        annotate=True,
        theme=theme,
        **_labels(text),
    )


def _causal_weights(text: Text, theme: str):
    torch.manual_seed(123)  # as the chapter's example
    ca = causal.CausalAttention(d_in=3, d_out=2, context_length=6)
    x = self_attention.your_journey()
    with torch.no_grad():
        scores = ca.W_query(x) @ ca.W_key(x).T / math.sqrt(2)
        weights = causal.causal_weights_masked(scores)
    return attention_heatmap(
        weights,
        self_attention.JOURNEY_TOKENS,
        title=text("title"),
        mask=_future(6),
        masked_label=text("masked"),
        theme=theme,
        **_labels(text),
    )


def _multihead_heads(text: Text, theme: str):
    torch.manual_seed(123)  # as the chapter's example
    mha = multihead.MultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2)
    x = self_attention.your_journey()[None]
    with torch.no_grad():
        q, k = mha._split_heads(mha.W_query(x)), mha._split_heads(mha.W_key(x))
        weights = self_attention.attention_weights(q, k, mask=causal.causal_mask(6))[0]
    titles = [text(f"head-{h + 1}") for h in range(mha.num_heads)]
    return heads_heatmaps(
        weights,
        self_attention.JOURNEY_TOKENS,
        head_titles=titles,
        title=text("title"),
        mask=_future(6),
        masked_label=text("masked"),
        theme=theme,
        **_labels(text),
    )


def _cross_weights(text: Text, theme: str):
    x_1 = self_attention.embed_sentence()[None]  # as the chapter's example
    torch.manual_seed(123)
    module = cross.CrossAttention(d_in=3, d_out=2, d_v=4)
    x_2 = torch.rand(1, 8, 3)
    with torch.no_grad():
        weights = self_attention.attention_weights(module.W_query(x_1), module.W_key(x_2))[0]
    words = self_attention.SENTENCE.replace(",", "").split()
    return attention_heatmap(weights, words, _positions(8), title=text("title"), theme=theme, **_labels(text))


def _score_gradient(text: Text, theme: str):
    x, w_q, w_k, w_v, w_out, target = backward.worked_example()
    fwd = backward.attention_forward(x, w_q, w_k, w_v)
    _, dz, _ = backward.bce_loss_and_grad(fwd.z, w_out, target)
    grads = backward.attention_backward(fwd, dz)
    return attention_heatmap(grads.s, _positions(3), title=text("title"), signed=True, theme=theme, **_labels(text))


def _tiles(text: Text, theme: str):
    tokens, tile = 12, 4
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, tokens, 8, generator=generator, dtype=torch.float64).unbind(0)
    scores = q @ k.T / math.sqrt(8)
    weights = torch.zeros(tokens, tokens, dtype=torch.float64)
    for row in range(tokens):  # each row's visible scores, read one tile of keys at a time
        weights[row, : row + 1] = flash.online_softmax(scores[row, : row + 1], block_size=tile)[0]
    return attention_heatmap(
        weights,
        _positions(tokens),
        title=text("title"),
        mask=_future(tokens),
        masked_label=text("masked"),
        tiles=(tile, tile),
        annotate=False,
        theme=theme,
        **_labels(text),
    )


FIGURES = (
    GuideFigure("simple-attention/weights", _simple_weights),
    GuideFigure("averaging-trick/averaging-matrix", _averaging_matrix),
    GuideFigure("averaging-trick/data-dependent-head", _data_dependent_head),
    GuideFigure("scaled-dot-product/initialisation", _initialisation),
    GuideFigure("causal-attention/weights", _causal_weights),
    GuideFigure("multi-head-attention/heads", _multihead_heads),
    GuideFigure("cross-attention/weights", _cross_weights),
    GuideFigure("backward-pass/score-gradient", _score_gradient),
    GuideFigure("efficient-attention/tiles", _tiles),
)


def write_figures(
    out_dir: Path, languages: Iterable[str] = LANGUAGES, names: Iterable[str] | None = None
) -> list[Path]:
    """Draw figures (all by default) in each language and scheme: ``out_dir/<lang>/<name>.<theme>.svg``."""
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
            svg = draw_svg(figure, theme)
            for lang in languages:
                path = out_dir / lang / f"{figure.name}.{theme}.svg"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(localise_svg(svg, figure.name, lang), encoding="utf-8")
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_site.figures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write <lang>/<name>.<theme>.svg into")
    parser.add_argument("--lang", nargs="+", default=list(LANGUAGES), choices=LANGUAGES)
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[f.name for f in FIGURES])
    args = parser.parse_args(argv)
    for path in write_figures(args.out, args.lang, args.only):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
