from __future__ import annotations

import math

import pytest
import torch

from attn_examples.multihead import MultiHeadAttention
from attn_examples.positions import (
    POSITIONS,
    LearnedPositions,
    PositionalMultiHeadAttention,
    SinusoidalPositions,
    alibi_bias,
    alibi_slopes,
    apply_rope,
    equivariance_gap,
    halves_to_adjacent,
    sinusoidal_positions,
    sinusoidal_shift,
)
from tests.helpers import DTYPES, assert_close, randn, seeded


def test_attention_without_positions_ignores_order_and_positions_break_it() -> None:
    mha = seeded(MultiHeadAttention, 8, 8, context_length=7, num_heads=2, causal=False)
    x, order = randn(2, 7, 8), torch.tensor([6, 3, 0, 5, 1, 4, 2])
    assert equivariance_gap(mha, x, order) < 1e-12
    table = sinusoidal_positions(7, 8, dtype=torch.float64)
    assert equivariance_gap(lambda t: mha(t + table), x, order) > 1e-2
    causal = seeded(MultiHeadAttention, 8, 8, context_length=7, num_heads=2)  # the mask is a notion of order
    assert equivariance_gap(causal, x, order) > 1e-2


def test_the_sinusoidal_table_is_the_papers_formula() -> None:
    table = sinusoidal_positions(50, 16, dtype=torch.float64)
    for p in (0, 1, 7, 49):
        for i in range(8):
            angle = p / 10000 ** (2 * i / 16)
            assert table[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-13)
            assert table[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-13)
    assert sinusoidal_positions(50, 16).dtype == torch.float32
    odd = sinusoidal_positions(50, 15, dtype=torch.float64)  # an odd size ends on a sine alone
    assert odd.shape == (50, 15) and odd[49, 14].item() == pytest.approx(math.sin(49 / 10000 ** (14 / 15)), abs=1e-13)


@pytest.mark.parametrize("offset", [1, 5, -3, 40])
def test_one_fixed_rotation_moves_every_position_by_the_same_offset(offset: int) -> None:
    table = sinusoidal_positions(100, 12, dtype=torch.float64)
    shift = sinusoidal_shift(offset, 12)
    rows = torch.arange(max(0, -offset), min(100, 100 - offset))
    torch.testing.assert_close(table[rows] @ shift.T, table[rows + offset], rtol=0, atol=1e-12)
    torch.testing.assert_close(shift @ shift.T, torch.eye(12, dtype=torch.float64), rtol=0, atol=1e-12)


def test_sinusoidal_positions_have_no_end_and_learned_ones_stop_at_their_table() -> None:
    x = torch.zeros(1, 3, 4)
    far = SinusoidalPositions(4)(x, start=10_000)
    torch.testing.assert_close(far[0], sinusoidal_positions(10_003, 4)[10_000:])
    learned = LearnedPositions(context_length=5, d_model=4)
    torch.testing.assert_close(learned(x, start=2)[0], learned.table.weight[2:5])
    with pytest.raises(ValueError, match="run past the learned table's 5 rows"):
        learned(x, start=3)


def _rotate_half_reference(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The "halves" convention as GPT-NeoX and Llama's Hugging Face code write it (rotate_half)."""
    half = x.shape[-1] // 2
    inv_freq = 1.0 / 10000 ** (torch.arange(0, x.shape[-1], 2, dtype=torch.float64) / x.shape[-1])
    angles = torch.cat([positions[:, None].double() * inv_freq] * 2, dim=-1)
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * angles.cos() + rotated * angles.sin()


def _complex_reference(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The "adjacent" convention as the RoFormer paper and Meta's Llama code write it: complex products."""
    inv_freq = 1.0 / 10000 ** (torch.arange(0, x.shape[-1], 2, dtype=torch.float64) / x.shape[-1])
    turns = torch.polar(
        torch.ones(len(positions), x.shape[-1] // 2, dtype=torch.float64), positions[:, None] * inv_freq
    )
    pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2).contiguous())
    return torch.view_as_real(pairs * turns).flatten(-2)


def test_rope_matches_both_conventions_as_their_code_writes_them() -> None:
    x, positions = randn(2, 3, 9, 16), torch.arange(9) * 7
    torch.testing.assert_close(apply_rope(x, positions, pairing="halves"), _rotate_half_reference(x, positions))
    torch.testing.assert_close(apply_rope(x, positions), _complex_reference(x, positions))


@pytest.mark.parametrize("pairing", ["adjacent", "halves"])
def test_a_rope_score_depends_on_the_distance_alone(pairing: str) -> None:
    q, k = randn(5, 32, seed=1), randn(5, 32, seed=2)
    m, n = torch.tensor([0, 3, 17, 100, 2048]), torch.tensor([0, 1, 40, 99, 7])
    scores = (apply_rope(q, m, pairing=pairing) * apply_rope(k, n, pairing=pairing)).sum(-1)
    for shift in (1, 13, 5000):
        shifted = (apply_rope(q, m + shift, pairing=pairing) * apply_rope(k, n + shift, pairing=pairing)).sum(-1)
        torch.testing.assert_close(shifted, scores, rtol=0, atol=1e-10)
    rotated = apply_rope(q, m, pairing=pairing)
    torch.testing.assert_close(rotated.norm(dim=-1), q.norm(dim=-1), rtol=0, atol=1e-12)
    assert torch.equal(apply_rope(q, torch.zeros(5, dtype=torch.int64), pairing=pairing), q)


def test_a_permutation_turns_one_pairing_into_the_other() -> None:
    x, positions = randn(2, 6, 10), torch.arange(6)
    order = halves_to_adjacent(10)
    torch.testing.assert_close(
        apply_rope(x[..., order], positions, pairing="adjacent"), apply_rope(x, positions, pairing="halves")[..., order]
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_rope_in_half_precision_turns_in_float32_and_keeps_the_dtype(dtype: torch.dtype) -> None:
    x = randn(4, 8, dtype=torch.float32) * 100
    positions = torch.arange(4) * 10_000
    rotated = apply_rope(x.to(dtype), positions)
    assert rotated.dtype == dtype and torch.isfinite(rotated).all()
    expected = apply_rope(x.to(dtype).float(), positions).to(dtype)
    assert torch.equal(rotated, expected)


def _alibi_reference(n: int) -> list[float]:
    """The slopes as the ALiBi repository computes them (get_slopes)."""

    def power_of_2(n: int) -> list[float]:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + _alibi_reference(2 * closest)[0::2][: n - closest]


@pytest.mark.parametrize("heads", range(1, 17))
def test_alibi_slopes_follow_the_papers_rule(heads: int) -> None:
    assert alibi_slopes(heads).tolist() == pytest.approx(_alibi_reference(heads), rel=1e-6)


def test_alibi_biases_are_minus_slope_times_distance() -> None:
    bias, slopes = alibi_bias(8, 5), alibi_slopes(8)
    for h in range(8):
        for i in range(5):
            for j in range(i + 1):
                assert bias[h, i, j].item() == pytest.approx(-slopes[h].item() * (i - j))


@pytest.mark.parametrize("dtype", DTYPES)
def test_without_positions_the_module_is_the_multi_head_chapters(dtype: torch.dtype) -> None:
    plain = seeded(MultiHeadAttention, 6, 8, context_length=9, num_heads=2).to(dtype)
    ours = PositionalMultiHeadAttention(6, 8, context_length=9, num_heads=2).to(dtype)
    ours.load_state_dict(plain.state_dict())
    x = randn(3, 9, 6, dtype=dtype)
    assert_close(ours(x), plain(x))


@pytest.mark.parametrize("positions", POSITIONS)
def test_every_kind_of_position_is_causal(positions: str) -> None:
    mha = seeded(PositionalMultiHeadAttention, 6, 8, context_length=9, num_heads=2, positions=positions)
    x = randn(2, 9, 6)
    changed = x.clone()
    changed[:, 5:] = randn(2, 4, 6, seed=9)
    torch.testing.assert_close(mha(changed)[:, :5], mha(x)[:, :5], rtol=0, atol=1e-12)


@pytest.mark.parametrize("positions", POSITIONS)
def test_relative_positions_do_not_care_where_the_tokens_start(positions: str) -> None:
    mha = seeded(PositionalMultiHeadAttention, 6, 8, context_length=12, num_heads=2, positions=positions)
    x = randn(2, 5, 6)
    moved = (mha(x, start=7) - mha(x)).abs().max().item()
    assert (moved < 1e-12) == (positions in ("rope", "alibi"))


def test_alibi_attention_is_softmax_of_scaled_scores_plus_bias() -> None:
    mha = seeded(PositionalMultiHeadAttention, 4, 6, context_length=5, num_heads=3, positions="alibi")
    x = randn(1, 5, 4)
    q, k, v = (mha._split_heads(layer(x)) for layer in (mha.W_query, mha.W_key, mha.W_value))
    scores = q @ k.transpose(-2, -1) / math.sqrt(2) + alibi_bias(3, 5).double()
    scores = scores.masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
    context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(1, 5, 6)
    torch.testing.assert_close(mha(x), mha.out_proj(context), rtol=0, atol=1e-12)


@pytest.mark.parametrize("positions", POSITIONS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_stays_finite_and_near_float32(positions: str, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    mha = PositionalMultiHeadAttention(16, 16, context_length=32, num_heads=4, positions=positions)
    x = torch.randn(2, 32, 16, generator=torch.Generator().manual_seed(1))
    expected = mha(x)
    actual = mha.to(dtype)(x.to(dtype))
    assert actual.dtype == dtype and torch.isfinite(actual).all()
    torch.testing.assert_close(actual.float(), expected, rtol=0, atol=0.05)


@pytest.mark.parametrize("positions", [None, *POSITIONS])
def test_each_module_runs_on_each_device(device: torch.device, positions: str | None) -> None:
    cpu = seeded(PositionalMultiHeadAttention, 6, 8, context_length=9, num_heads=2, positions=positions).float()
    x = randn(2, 9, 6, dtype=torch.float32)
    on_device = seeded(PositionalMultiHeadAttention, 6, 8, context_length=9, num_heads=2, positions=positions)
    assert_close(on_device.float().to(device)(x.to(device), start=0).cpu(), cpu(x))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: sinusoidal_shift(1, 5), ValueError, "d_model must be even"),
        (lambda: sinusoidal_positions(0, 4), ValueError, "num_positions must be a positive integer"),
        (lambda: sinusoidal_positions(4, 4, base=1.0), ValueError, "base must be a finite number greater than 1"),
        (lambda: sinusoidal_shift(1.5, 4), TypeError, "offset must be an integer"),
        (lambda: apply_rope(torch.zeros(3, 5), torch.arange(3)), ValueError, "head_dim .* must be even"),
        (lambda: apply_rope(torch.zeros(3, 4), torch.arange(4)), ValueError, r"positions must have shape \(tokens,\)"),
        (lambda: apply_rope(torch.zeros(3, 4), torch.zeros(3)), TypeError, "positions must be an integer tensor"),
        (lambda: apply_rope(torch.zeros(3, 4), torch.arange(3), pairing="pairs"), ValueError, "pairing must be one"),
        (lambda: alibi_slopes(0), ValueError, "num_heads must be a positive integer"),
        (lambda: halves_to_adjacent(7), ValueError, "head_dim must be even"),
        (lambda: equivariance_gap(print, torch.zeros(1, 3, 2), torch.tensor([0, 0, 1])), ValueError, "permutation"),
        (lambda: PositionalMultiHeadAttention(4, 4, 8, 2, positions="relative"), ValueError, "positions must be one"),
        (lambda: PositionalMultiHeadAttention(4, 6, 8, 2, positions="rope"), ValueError, "head_dim .* must be even"),
        (lambda: PositionalMultiHeadAttention(4, 6, 8, 4), ValueError, "d_out must be divisible by num_heads"),
        (lambda: LearnedPositions(4, 2)(torch.zeros(1, 2, 3)), ValueError, "d_model=2 features"),
        (lambda: PositionalMultiHeadAttention(4, 4, 6, 2).heads(torch.zeros(1, 3, 5)), ValueError, "d_in=4 features"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_the_module_refuses_positions_past_its_context_length() -> None:
    mha = PositionalMultiHeadAttention(4, 4, context_length=6, num_heads=2, positions="rope")
    with pytest.raises(ValueError, match="positions 4 to 6 run past the module's context_length, 6"):
        mha(torch.zeros(1, 3, 4), start=4)
    with pytest.raises(ValueError, match="start must be a non-negative integer"):
        mha(torch.zeros(1, 3, 4), start=-1)


def _zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize(
    ("queries", "keys", "error", "message"),
    [
        (_zeros(1, 3, 3, 2), _zeros(1, 2, 3, 2), ValueError, r"queries must have shape \(batch, 2, new, 2\)"),
        (_zeros(1, 2, 3, 2, dtype=torch.float64), _zeros(1, 2, 3, 2), TypeError, "same dtype"),
        (_zeros(1, 2, 3, 2), _zeros(1, 1, 3, 2), ValueError, r"keys must have shape \(batch, 2, total, 2\)"),
        (_zeros(1, 2, 3, 2), _zeros(1, 2, 2, 2), ValueError, "the queries must be the last of the keys"),
        (_zeros(1, 2, 3, 2), _zeros(1, 2, 7, 2), ValueError, "at most context_length=6"),
    ],
)
def test_attend_names_the_shapes_it_expects(
    queries: torch.Tensor, keys: torch.Tensor, error: type[Exception], message: str
) -> None:
    mha = PositionalMultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2)
    with pytest.raises(error, match=message):
        mha.attend(queries, keys, keys.clone())
