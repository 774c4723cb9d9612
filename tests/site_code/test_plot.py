from __future__ import annotations

import pytest
import torch
from matplotlib.patches import Rectangle

from attn_examples.simple import TOKENS, attention_matrix, hello_shiny_sun
from attn_site.plot import ANNOTATE_UP_TO, THEMES, attention_heatmap, heads_heatmaps, to_svg


def _contrast(a: str, b: tuple[float, ...]) -> float:
    from matplotlib.colors import to_rgb

    def luminance(rgb) -> float:
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(to_rgb(a)), luminance(b[:3])), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _causal(tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    future = torch.ones(tokens, tokens, dtype=torch.bool).triu(1)
    weights = torch.softmax(torch.randn(tokens, tokens).masked_fill(future, float("-inf")), dim=-1)
    return weights, future


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_heatmap_shows_every_value_labels_and_readable_text(theme: str) -> None:
    weights = attention_matrix(hello_shiny_sun())
    fig = attention_heatmap(
        weights, TOKENS, title="T", xlabel="keys", ylabel="queries", colorbar_label="w", theme=theme
    )
    ax, bar = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == list(TOKENS)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(TOKENS)
    assert (ax.get_xlabel(), ax.get_ylabel(), bar.get_ylabel(), fig._suptitle.get_text()) == (
        "keys",
        "queries",
        "w",
        "T",
    )
    image = ax.images[0]
    shown = [float(t.get_text()) for t in ax.texts]
    assert shown == pytest.approx(weights.flatten().tolist(), abs=0.005)
    for text, value in zip(ax.texts, weights.flatten().tolist(), strict=True):  # WCAG AA for small text
        assert _contrast(text.get_color(), image.cmap(image.norm(value))) >= 4.5


def test_causal_mask_is_hatched_and_named_in_a_legend() -> None:
    weights, future = _causal(5)
    fig = attention_heatmap(weights, list("abcde"), hidden=future, masked_label="masked")
    hatched = [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert len(hatched) == int(future.sum()) == 10
    assert len(fig.axes[0].texts) == 15  # masked cells carry no number
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["masked"]


def test_large_inputs_are_not_annotated_and_tiles_are_drawn() -> None:
    tokens = ANNOTATE_UP_TO + 2
    weights, future = _causal(tokens)
    fig = attention_heatmap(weights, [str(i) for i in range(tokens)], hidden=future, tiles=(4, 4))
    assert len(fig.axes[0].texts) == 0
    assert len(fig.axes[0].lines) == 2 * 2  # boundaries after rows/columns 4 and 8


def test_signed_values_get_a_scale_centred_on_zero() -> None:
    grad = torch.tensor([[0.2, -0.1], [0.0, -0.05]])
    fig = attention_heatmap(grad, ["a", "b"], signed=True)
    assert fig.axes[0].images[0].get_clim() == pytest.approx((-0.2, 0.2))


def test_heads_share_one_scale_and_get_their_titles() -> None:
    weights = torch.stack([_causal(4)[0], _causal(4)[0]])
    fig = heads_heatmaps(weights, list("abcd"), head_titles=["h1", "h2"], hidden=_causal(4)[1])
    heads = fig.axes[:2]
    assert [ax.get_title() for ax in heads] == ["h1", "h2"]
    assert {ax.images[0].get_clim() for ax in heads} == {(0.0, 1.0)}


def test_heads_fill_rows_and_only_outer_panels_label_tokens() -> None:
    weights = torch.stack([_causal(3)[0] for _ in range(5)])
    fig = heads_heatmaps(weights, list("abc"), head_titles=list("12345"), xlabel="k", ylabel="q", per_row=2)
    panels = [ax for ax in fig.axes if ax.images and ax.get_visible()][:5]
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in panels] == [(3, 2)] * 5
    assert [ax.get_title() for ax in panels] == list("12345")
    shown = [ax.xaxis.get_tick_params()["labelbottom"] for ax in panels]
    # the bottom row, and the panel above the last row's empty place
    assert shown == [False, False, False, True, True]
    assert [ax.get_ylabel() for ax in panels] == ["q", "", "q", "", "q"]
    assert [ax.get_xlabel() for ax in panels] == ["", "", "", "k", "k"]


def test_svg_is_compact_and_draws_the_same_text() -> None:
    import re

    weights = torch.stack([_causal(12)[0] for _ in range(4)])
    fig = heads_heatmaps(weights, [f"t{i}" for i in range(12)], head_titles=list("abcd"), per_row=2)
    svg = to_svg(fig)
    assert 'style="' not in "".join(re.findall(r"<text\b[^>]*>", svg))  # each text's style is a class
    assert "rotate(-0 " not in svg and not re.search(r'<g id="[^"]*">\s*</g>', svg)
    classes = re.findall(r'<text class="(t\d+)"', svg)
    assert classes and all(f".{name}{{" in svg for name in set(classes))
    labels = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    assert labels.count("t5") == 2 + 2  # two panels label the rows, two the columns


def test_svg_keeps_text_as_text_and_is_reproducible() -> None:
    weights = attention_matrix(hello_shiny_sun())
    first = to_svg(attention_heatmap(weights, TOKENS, title="注意力权重"))
    again = to_svg(attention_heatmap(weights, TOKENS, title="注意力权重"))
    assert first == again
    assert ">注意力权重</text>" in first and ">shiny</text>" in first


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: attention_heatmap(torch.ones(3), ["a", "b", "c"]), ValueError, r"\(queries, keys\)"),
        (lambda: attention_heatmap(torch.ones(2, 2, dtype=torch.int64), ["a", "b"]), TypeError, "float"),
        (lambda: attention_heatmap(torch.ones(2, 2), ["a"]), ValueError, "expected 2, got 1"),
        (lambda: attention_heatmap(torch.ones(2, 3), ["a", "b"], ["x"]), ValueError, "expected 3, got 1"),
        (lambda: attention_heatmap(torch.ones(2, 2), "ab"), TypeError, "sequence of strings"),
        (lambda: attention_heatmap(torch.ones(2, 2), ["a", "b"], hidden=torch.ones(2, 2)), TypeError, "boolean"),
        (
            lambda: attention_heatmap(torch.ones(2, 2), ["a", "b"], hidden=torch.ones(3, 3, dtype=torch.bool)),
            ValueError,
            r"shape \(2, 2\)",
        ),
        (lambda: attention_heatmap(torch.ones(2, 2), ["a", "b"], theme="sepia"), ValueError, "theme"),
        (lambda: attention_heatmap(torch.ones(2, 2), ["a", "b"], tiles=(0, 2)), ValueError, "tiles"),
        (lambda: heads_heatmaps(torch.ones(2, 2, 2), ["a", "b"], head_titles=["h"]), ValueError, "expected 2, got 1"),
        (
            lambda: heads_heatmaps(torch.ones(2, 2), ["a", "b"], head_titles=["h"]),
            ValueError,
            r"\(heads, queries, keys\)",
        ),
        (
            lambda: heads_heatmaps(torch.ones(2, 2, 2), ["a", "b"], head_titles=["h", "i"], per_row=0),
            ValueError,
            "per_row must be a positive int",
        ),
    ],
)
def test_bad_input_is_named(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
