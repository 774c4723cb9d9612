from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from attn_examples.positions import apply_rope
from attn_examples.results import WindowRecord, read_results
from attn_examples.sparse import (
    RollingKVCache,
    block_local,
    causal,
    dense_mask,
    dilated,
    global_and_window,
    local_attention,
    masked_attention,
    receptive_field,
    sliding_window,
    sliding_window_attention,
    tile_occupancy,
    tiled_masked_attention,
)
from tests.helpers import randn

ROOT = Path(__file__).resolve().parent.parent

MASKS = {
    "causal": causal,
    "sliding window 5": sliding_window(5),
    "2 global tokens and a window of 4": global_and_window(2, 4),
    "dilated 4 × 3": dilated(4, 3),
    "local blocks of 8": block_local(8),
}


def _by_formula(name: str, tokens: int) -> torch.Tensor:
    i, j = torch.arange(tokens)[:, None], torch.arange(tokens)[None, :]
    before = i >= j
    return {
        "causal": before,
        "sliding window 5": before & (i - j <= 4),
        "2 global tokens and a window of 4": before & ((i - j <= 3) | (j <= 1)),
        "dilated 4 × 3": before & ((i - j) % 3 == 0) & (i - j <= 9),
        "local blocks of 8": before & ((i // 8 == j // 8) | (i // 8 == j // 8 + 1)),
    }[name]


@pytest.mark.parametrize("name", MASKS)
def test_each_rule_gives_the_mask_of_its_formula(name: str) -> None:
    assert torch.equal(dense_mask(MASKS[name], 30), _by_formula(name, 30))


@pytest.mark.parametrize("name", MASKS)
def test_flex_attention_with_the_rule_equals_sdpa_with_its_dense_mask(name: str) -> None:
    q, k, v = randn(2, 3, 200, 8, seed=0), randn(2, 3, 200, 8, seed=1), randn(2, 3, 200, 8, seed=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
        flex = masked_attention(q, k, v, MASKS[name])
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=dense_mask(MASKS[name], 200))
    torch.testing.assert_close(flex, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", MASKS)
@pytest.mark.parametrize("tile", [16, 24, 64])
def test_the_tiled_kernel_that_skips_empty_tiles_is_exact(name: str, tile: int) -> None:
    q, k, v = randn(2, 2, 100, 8, seed=0), randn(2, 2, 100, 8, seed=1), randn(2, 2, 100, 6, seed=2)
    mask = dense_mask(MASKS[name], 100)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(tiled_masked_attention(q, k, v, mask, tile), expected, rtol=0, atol=1e-12)


def test_a_sliding_window_keeps_a_band_of_tiles() -> None:
    occupied = tile_occupancy(dense_mask(sliding_window(16), 128), tile=16)
    assert occupied.sum() == 8 + 7  # the diagonal and the tiles just below it, of 64
    assert tile_occupancy(dense_mask(causal, 128), tile=16).sum() == 36  # 8 · 9 / 2
    band = tile_occupancy(dense_mask(sliding_window(16), 4096), tile=64).sum()
    assert band == 64 + 63  # linear in the tokens: 2 tiles per row of tiles, against 64 · 65 / 2 = 2080


def test_sliding_window_attention_is_causal_attention_when_the_window_holds_everything() -> None:
    q, k, v = randn(1, 2, 12, 4, seed=0), randn(1, 2, 12, 4, seed=1), randn(1, 2, 12, 4, seed=2)
    causal_out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(sliding_window_attention(q, k, v, 12), causal_out, rtol=0, atol=1e-12)
    assert not torch.allclose(sliding_window_attention(q, k, v, 3), causal_out)


@pytest.mark.parametrize(("window", "layers"), [(4, 1), (4, 3), (5, 6), (2, 10)])
def test_the_receptive_field_of_stacked_windows_grows_by_window_minus_one_a_layer(window: int, layers: int) -> None:
    reach = receptive_field(dense_mask(sliding_window(window), 40), layers)
    expected = torch.tensor([min(i + 1, layers * (window - 1) + 1) for i in range(40)])
    assert torch.equal(reach.sum(dim=-1), expected)
    assert torch.equal(reach, dense_mask(sliding_window(layers * (window - 1) + 1), 40))


def test_a_rolling_cache_gives_windowed_attention_at_every_step_with_rope() -> None:
    window, tokens = 4, 11
    q, k, v = randn(2, 3, tokens, 8, seed=0), randn(2, 3, tokens, 8, seed=1), randn(2, 3, tokens, 8, seed=2)
    where = torch.arange(tokens)
    q, k = apply_rope(q, where), apply_rope(k, where)  # each key turned by its absolute position, then cached
    full = sliding_window_attention(q, k, v, window)
    cache = RollingKVCache(2, 3, 8, window, dtype=torch.float64)
    for t in range(tokens):
        keys, values = cache.append(k[:, :, t : t + 1], v[:, :, t : t + 1])
        assert keys.shape[2] == min(t + 1, window) and cache.keys.shape[2] == window
        step = F.scaled_dot_product_attention(q[:, :, t : t + 1], keys, values)  # every cached key is in the window
        torch.testing.assert_close(step, full[:, :, t : t + 1], rtol=0, atol=1e-12)
    assert len(cache) == tokens


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: sliding_window(0), ValueError, "window must be a positive integer"),
        (lambda: dilated(3, 0), ValueError, "dilation must be a positive integer"),
        (lambda: dense_mask("causal", 4), TypeError, "mask_mod must be a function"),
        (lambda: tile_occupancy(torch.ones(4, 5, dtype=torch.bool), 2), ValueError, "mask must be square"),
        (lambda: tile_occupancy(torch.ones(4, 4), 2), TypeError, "boolean tensor"),
        (
            lambda: tiled_masked_attention(*randn(3, 1, 1, 4, 2).unbind(0), torch.zeros(4, 4, dtype=torch.bool)),
            ValueError,
            "at least one key",
        ),
        (
            lambda: sliding_window_attention(*randn(3, 4, 2).unbind(0), 2),
            ValueError,
            r"\(batch, heads, tokens, head_dim\)",
        ),
        (
            lambda: RollingKVCache(1, 2, 4, 3).append(torch.zeros(1, 2, 2, 4), torch.zeros(1, 2, 2, 4)),
            ValueError,
            "one token a step",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(("window", "block"), [(5, 16), (64, 16), (300, 100), (1, 7)])
def test_local_attention_is_sliding_window_attention_by_blocks(window: int, block: int) -> None:
    q, k, v = randn(2, 3, 150, 8, seed=0), randn(2, 3, 150, 8, seed=1), randn(2, 3, 150, 8, seed=2)
    expected = sliding_window_attention(q, k, v, window)
    torch.testing.assert_close(local_attention(q, k, v, window, block), expected, rtol=0, atol=1e-12)


def test_the_recorded_timings_grow_linearly_within_a_window_and_quadratically_in_full() -> None:
    # the numbers the chapter's figures show (make bench), read, not timed: from 1,024 to 8,192 tokens (×8)
    _, records = read_results(ROOT / "docs/benchmarks/cpu/window.jsonl", WindowRecord)
    ms = {(r.implementation, r.tokens): r.median_ms for r in records}
    assert ms["local_attention", 8192] / ms["local_attention", 1024] < 16  # linear: about 8
    assert ms["causal SDPA", 8192] / ms["causal SDPA", 1024] > 20  # quadratic: about 64 at length
    assert ms["local_attention", 8192] < ms["causal SDPA", 8192] < ms["SDPA, band mask", 8192]
    mib = {(r.implementation, r.tokens): r.peak_extra_mib for r in records}
    assert mib["SDPA, band mask", 8192] / mib["SDPA, band mask", 1024] > 20  # a T × T matrix
    assert mib["local_attention", 8192] / mib["local_attention", 1024] < 16
