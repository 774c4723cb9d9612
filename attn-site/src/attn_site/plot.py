"""Attention weights as labelled heatmaps, and measured times as charts, for the pages' figures (needs matplotlib).

``attention_heatmap`` draws one matrix of weights with its tokens on both
axes: queries are rows, keys are columns. ``heads_heatmaps`` draws several
heads side by side on one colour scale; ``line_chart`` draws lines in panels (the benchmarks' median
times against the number of tokens, a KV cache's size against the context). Each returns a matplotlib ``Figure``
in the light or dark colours of the site; ``to_svg`` turns it into an SVG
whose text stays text (so any script renders, and the file is small).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from attn_examples._checks import check_bool, check_float_tensor

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn: it is an optional extra
    from matplotlib.typing import RcKeyType


# --8<-- [start:themes]
@dataclass(frozen=True)
class Theme:
    """The colours of one colour scheme of the site."""

    text: str
    frame: str
    colormap: str
    masked: str
    hatch: str
    tile: str


THEMES = {
    "light": Theme(
        text="#1f2329", frame="#5f6368", colormap="Blues", masked="#f1f1f4", hatch="#9aa0a6", tile="#d84315"
    ),
    "dark": Theme(
        text="#e2e4e9", frame="#9aa0a6", colormap="viridis", masked="#2b2d3a", hatch="#6b7080", tile="#ff8a65"
    ),
}
ANNOTATE_UP_TO = 10  # tokens per axis up to which every cell shows its value
# --8<-- [end:themes]

# text stays text (the reader's browser draws any script); short font list; ids reproducible
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "attn-examples",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 10,
}


def _check_labels(name: str, labels: Sequence[str], expected: int) -> list[str]:
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise TypeError(f"{name} must be a sequence of strings, one per token")
    if len(labels) != expected:
        raise ValueError(f"{name} must have one label per token: expected {expected}, got {len(labels)}")
    return list(labels)


def _check_hidden(hidden: torch.Tensor | None, shape: torch.Size) -> torch.Tensor | None:
    if hidden is None:
        return None
    if not isinstance(hidden, torch.Tensor) or hidden.dtype != torch.bool:
        raise TypeError("hidden must be a boolean tensor, True where a key is hidden from a query")
    if hidden.shape != shape[-2:]:
        raise ValueError(f"hidden must have shape {tuple(shape[-2:])} (queries, keys), got {tuple(hidden.shape)}")
    return hidden.cpu()


def _check_theme(theme: str) -> Theme:
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {sorted(THEMES)}, got {theme!r}")
    return THEMES[theme]


def _text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever contrasts more with a cell of colour ``rgba`` (WCAG luminance)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def _draw(
    ax,
    values: torch.Tensor,
    rows: list[str],
    columns: list[str],
    *,
    hidden: torch.Tensor | None,
    annotate: bool,
    tiles: tuple[int, int] | None,
    limits: tuple[float, float],
    colormap,
    theme: Theme,
    xlabel: str,
    ylabel: str,
):
    from matplotlib.patches import Rectangle

    data = values.detach().to("cpu", torch.float64).numpy().copy()
    if hidden is not None:
        data[hidden.numpy()] = float("nan")
    # "none": the SVG holds one pixel per weight, which the browser scales without smoothing
    image = ax.imshow(data, cmap=colormap, vmin=limits[0], vmax=limits[1], aspect="equal", interpolation="none")
    ax.set_xticks(
        range(len(columns)),
        labels=columns,
        rotation=45 if max(map(len, columns)) > 3 else 0,
        ha="right" if max(map(len, columns)) > 3 else "center",
        rotation_mode="anchor",
    )
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(colors=theme.text, length=0)
    for spine in ax.spines.values():
        spine.set_color(theme.frame)
    if hidden is not None:
        for i, j in hidden.nonzero().tolist():
            ax.add_patch(
                Rectangle(
                    (j - 0.5, i - 0.5), 1, 1, facecolor=theme.masked, edgecolor=theme.hatch, hatch="///", linewidth=0
                )
            )
    if annotate:
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if hidden is not None and hidden[i, j]:
                    continue
                colour = _text_colour(image.cmap(image.norm(data[i, j])))
                ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", color=colour, fontsize=8)
    if tiles is not None:
        for y in range(tiles[0], data.shape[0], tiles[0]):
            ax.axhline(y - 0.5, color=theme.tile, linewidth=1.5)
        for x in range(tiles[1], data.shape[1], tiles[1]):
            ax.axvline(x - 0.5, color=theme.tile, linewidth=1.5)
    return image


def _finish(fig, ax_list, image, *, title: str, colorbar_label: str, masked_label: str, has_hidden: bool, theme: Theme):
    from matplotlib.patches import Patch

    bar = fig.colorbar(image, ax=ax_list, shrink=0.8, pad=0.03)
    bar.set_label(colorbar_label, color=theme.text)
    bar.ax.tick_params(colors=theme.text)
    bar.outline.set_edgecolor(theme.frame)
    if title:
        fig.suptitle(title, color=theme.text)
    if has_hidden and masked_label:
        fig.legend(
            handles=[Patch(facecolor=theme.masked, edgecolor=theme.hatch, hatch="///", label=masked_label)],
            loc="outside lower center",
            frameon=False,
            labelcolor=theme.text,
            fontsize=9,
        )
    for ax in ax_list:
        ax.xaxis.label.set_color(theme.text)
        ax.yaxis.label.set_color(theme.text)
        ax.title.set_color(theme.text)


def _colour_scale(values: torch.Tensor, signed: bool, hidden: torch.Tensor | None, theme: Theme):
    import matplotlib

    if not signed:
        colormap = matplotlib.colormaps[theme.colormap]
        return (0.0, 1.0), colormap
    visible = values if hidden is None else values[~hidden.expand_as(values)]
    largest = float(visible.abs().max()) if visible.numel() else 1.0
    return (-largest or -1.0, largest or 1.0), matplotlib.colormaps["RdBu_r"]


def _check_common(
    theme: str, annotate: bool | None, signed: bool, tiles: tuple[int, int] | None, tokens: int
) -> tuple[Theme, bool]:
    palette = _check_theme(theme)
    check_bool("signed", signed)
    if annotate is not None:
        check_bool("annotate", annotate)
    if tiles is not None and (len(tiles) != 2 or not all(isinstance(t, int) and t > 0 for t in tiles)):
        raise ValueError(f"tiles must be two positive ints (query rows, key columns) per tile, got {tiles!r}")
    return palette, tokens <= ANNOTATE_UP_TO if annotate is None else annotate


def _check_per_row(per_row: int | None, heads: int) -> int:
    if per_row is None:
        return heads
    if isinstance(per_row, bool) or not isinstance(per_row, int) or per_row < 1:
        raise ValueError(f"per_row must be a positive int (panels in a row), got {per_row!r}")
    return min(per_row, heads)


# --8<-- [start:heatmap]
def attention_heatmap(
    weights: torch.Tensor,
    rows: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    colorbar_label: str = "",
    hidden: torch.Tensor | None = None,
    masked_label: str = "",
    annotate: bool | None = None,
    tiles: tuple[int, int] | None = None,
    signed: bool = False,
    theme: str = "light",
):
    """One ``(queries, keys)`` matrix as a heatmap: ``rows`` label the queries, ``columns`` the keys.

    Weights use a 0–1 colour scale; ``signed=True`` centres a red–blue scale on
    zero instead (for gradients). Cells where ``hidden`` is True are hatched, and
    ``masked_label`` names them in a legend. Values are printed in the cells up
    to ``ANNOTATE_UP_TO`` tokens unless ``annotate`` says otherwise; ``tiles``
    draws the boundaries of ``(rows, columns)`` tiles.

    >>> from attn_examples.simple import TOKENS, attention_matrix, hello_shiny_sun
    >>> fig = attention_heatmap(attention_matrix(hello_shiny_sun()), TOKENS, xlabel="key", ylabel="query")
    >>> [t.get_text() for t in fig.axes[0].texts][:3]
    ['0.27', '0.38', '0.35']
    """
    from matplotlib.figure import Figure

    check_float_tensor("weights", weights, shapes={2: "(queries, keys)"})
    rows = _check_labels("rows", rows, weights.shape[0])
    columns = rows if columns is None else _check_labels("columns", columns, weights.shape[1])
    hidden = _check_hidden(hidden, weights.shape)
    palette, annotate = _check_common(theme, annotate, signed, tiles, max(weights.shape))
    limits, colormap = _colour_scale(weights.detach().cpu(), signed, hidden, palette)
    side = min(0.55 * max(weights.shape) + 1.5, 7.5)
    fig = Figure(figsize=(side * weights.shape[1] / max(weights.shape) + 1.6, side), layout="constrained")
    fig.patch.set_alpha(0)
    ax = fig.add_subplot()
    image = _draw(
        ax,
        weights,
        rows,
        columns,
        hidden=hidden,
        annotate=annotate,
        tiles=tiles,
        limits=limits,
        colormap=colormap,
        theme=palette,
        xlabel=xlabel,
        ylabel=ylabel,
    )
    _finish(
        fig,
        [ax],
        image,
        title=title,
        colorbar_label=colorbar_label,
        masked_label=masked_label,
        has_hidden=hidden is not None and bool(hidden.any()),
        theme=palette,
    )
    return fig


# --8<-- [end:heatmap]


# --8<-- [start:heads]
def heads_heatmaps(
    weights: torch.Tensor,
    rows: Sequence[str],
    columns: Sequence[str] | None = None,
    *,
    head_titles: Sequence[str],
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    colorbar_label: str = "",
    hidden: torch.Tensor | None = None,
    masked_label: str = "",
    annotate: bool | None = None,
    per_row: int | None = None,
    theme: str = "light",
):
    """Several heads' ``(heads, queries, keys)`` weights side by side, on one shared 0–1 scale.

    The panels fill rows of ``per_row`` (all in one row by default); tokens are
    labelled on the outer panels only.

    >>> w = torch.softmax(torch.randn(4, 4, 4), dim=-1)
    >>> fig = heads_heatmaps(w, list("abcd"), head_titles=["1", "2", "3", "4"], per_row=2)
    >>> [ax.get_title() for ax in fig.axes[:4]]
    ['1', '2', '3', '4']
    """
    from matplotlib.figure import Figure

    check_float_tensor("weights", weights, shapes={3: "(heads, queries, keys)"})
    heads, queries, keys = weights.shape
    rows = _check_labels("rows", rows, queries)
    columns = rows if columns is None else _check_labels("columns", columns, keys)
    titles = _check_labels("head_titles", head_titles, heads)
    hidden = _check_hidden(hidden, weights.shape)
    palette, annotate = _check_common(theme, annotate, False, None, max(queries, keys))
    across = _check_per_row(per_row, heads)
    down = -(-heads // across)
    limits, colormap = _colour_scale(weights.detach().cpu(), False, hidden, palette)
    side = min(0.5 * max(queries, keys) + 1.2, 6.0)
    fig = Figure(figsize=(side * across * keys / max(queries, keys) + 1.6, (side + 0.4) * down), layout="constrained")
    fig.patch.set_alpha(0)
    grid = fig.subplots(down, across, squeeze=False, sharex=True, sharey=True)
    for ax in grid.flat[heads:]:
        ax.set_visible(False)
    axes = list(grid.flat[:heads])
    for h, ax in enumerate(axes):
        image = _draw(
            ax,
            weights[h],
            rows,
            columns,
            hidden=hidden,
            annotate=annotate,
            tiles=None,
            limits=limits,
            colormap=colormap,
            theme=palette,
            xlabel=xlabel if h + across >= heads else "",
            ylabel=ylabel if h % across == 0 else "",
        )
        ax.set_title(titles[h])
        # shared axes label only the outer panels; a last row that is not full shows the keys above it too
        ax.tick_params(labelbottom=h + across >= heads)
    _finish(
        fig,
        axes,
        image,
        title=title,
        colorbar_label=colorbar_label,
        masked_label=masked_label,
        has_hidden=hidden is not None and bool(hidden.any()),
        theme=palette,
    )
    return fig


# --8<-- [end:heads]


@dataclass(frozen=True)
class Curve:
    """One line: its ``y`` at each ``x`` (an implementation's median time at each number of tokens);
    ``dashed`` sets it apart (a module, projections included)."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    dashed: bool = False


def line_chart(
    panels: Sequence[tuple[str, Sequence[Curve]]],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    log: bool = True,
    xticks: Sequence[float] | None = None,
    theme: str = "light",
):
    """Curves, one panel per ``(panel title, curves)``, two panels a row; log-log unless ``log`` is False.

    One legend under the panels names every curve once; curves of the same name share their colour.
    ``xticks`` places the marks of the x axis, labelled with their values.

    >>> fig = line_chart([("forward", [Curve("SDPA", [128, 256], [1.0, 3.5])])], xlabel="T", ylabel="ms")
    >>> len(fig.axes), fig.axes[0].get_xscale()
    (1, 'log')
    """
    from matplotlib.figure import Figure

    colours = _check_theme(theme)
    if not panels:
        raise ValueError("line_chart needs at least one panel, got none")
    columns = min(2, len(panels))
    rows = -(-len(panels) // columns)
    width = 3.8 * columns if columns > 1 else 6.0  # two panels or one: the page's width, about 730 px
    fig = Figure(figsize=(width, 3.0 * rows + 1.3), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    palette: dict[str, str] = {}
    for curve in (c for _, curves in panels for c in curves):
        palette.setdefault(curve.name, f"C{len(palette) % 10}")
    for ax, (panel_title, curves) in zip(axes.flat, panels, strict=False):
        for curve in curves:
            ax.plot(
                curve.x,
                curve.y,
                marker="o",
                markersize=3,
                linestyle="--" if curve.dashed else "-",
                color=palette[curve.name],
                label=curve.name,
            )
        if log:
            ax.set(xscale="log", yscale="log")
        else:
            ax.set_xlim(left=0)
            ax.set_ylim(bottom=0)
        if xticks is not None:
            ax.set_xticks(list(xticks), [f"{tick:g}" for tick in xticks])
            ax.set_xticks([], minor=True)  # on a log axis, the minor marks would be labelled too
        ax.set_title(panel_title, color=colours.text, fontsize=10)
        ax.grid(True, which="major", alpha=0.3, color=colours.frame)
        ax.tick_params(colors=colours.text, which="both")
        for spine in ax.spines.values():
            spine.set_edgecolor(colours.frame)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(xlabel, color=colours.text)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel, color=colours.text)
    handles = {line.get_label(): line for ax in axes.flat for line in ax.get_lines()}
    fig.legend(
        handles.values(),
        handles.keys(),
        loc="outside lower center",
        ncols=3,
        frameon=False,
        labelcolor=colours.text,
        fontsize=8,
    )
    if title:
        fig.suptitle(title, color=colours.text)
    return fig


def to_svg(figure) -> str:
    """The figure as an SVG document, reproducible byte for byte, its text kept as text.

    >>> from attn_examples.simple import TOKENS, attention_matrix, hello_shiny_sun
    >>> svg = to_svg(attention_heatmap(attention_matrix(hello_shiny_sun()), TOKENS))
    >>> svg.startswith("<?xml") and "shiny</text>" in svg
    True
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # CJK text is drawn by the browser
        figure.savefig(buffer, format="svg", metadata={"Date": None}, transparent=True)
    return _compact(buffer.getvalue())


_TEXT_STYLE = re.compile(r'<text style="([^"]*)"')
_NO_ROTATION = re.compile(r' transform="rotate\(-0 [-\d.]+ [-\d.]+\)"')
_EMPTY_GROUP = re.compile(r'\s*<g id="[^"]*"(/>|>\s*</g>)')
_LONE_TEXT = re.compile(r'<g id="[^"]*">\s*(<text\b[^>]*>[^<]*</text>)\s*</g>')


def _compact(svg: str) -> str:
    """Matplotlib's SVG, drawn the same with fewer bytes: each text's style once as a CSS class (a tick
    label repeats 200 bytes of it), no rotation by 0 degrees, no empty group, no group around a lone text.

    >>> _compact('<style type="text/css">*{}</style><g id="xtick_1"><g id="line2d_1"/> <g id="text_1"> '
    ...          '<text style="fill: red" transform="rotate(-0 1 2)">a</text> </g></g><g id="xtick_2"> </g>')
    '<style type="text/css">*{}.t0{fill: red}</style><text class="t0">a</text>'
    """
    classes: dict[str, str] = {}

    def to_class(match: re.Match[str]) -> str:
        name = classes.setdefault(match.group(1), f"t{len(classes)}")
        return f'<text class="{name}"'

    svg, shorter = "", _NO_ROTATION.sub("", _TEXT_STYLE.sub(to_class, svg))
    while shorter != svg:  # groups nest: a tick's group holds its mark's and its label's
        svg, shorter = shorter, _LONE_TEXT.sub(r"\1", _EMPTY_GROUP.sub("", shorter))
    rules = "".join(f".{name}{{{style}}}" for style, name in classes.items())
    return svg.replace("</style>", rules + "</style>", 1)
