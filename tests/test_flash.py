from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.flash import chunked_attention, flash_attention, online_softmax
from tests.helpers import DTYPES, assert_close, randn

IMPLEMENTATIONS = [
    pytest.param(lambda q, k, v, causal: flash_attention(q, k, v, causal=causal, block_q=5, block_k=3), id="flash"),
    pytest.param(lambda q, k, v, causal: chunked_attention(q, k, v, causal=causal, max_scores=40), id="chunked"),
]


def _qkv(batch: tuple[int, ...], t_q: int, t_k: int, d: int, d_v: int, dtype=torch.float64, device="cpu", seed=0):
    return (
        randn(*batch, t_q, d, dtype=dtype, device=device, seed=seed),
        randn(*batch, t_k, d, dtype=dtype, device=device, seed=seed + 1),
        randn(*batch, t_k, d_v, dtype=dtype, device=device, seed=seed + 2),
    )


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_pytorch_sdpa_on_every_device(impl, device: torch.device, dtype: torch.dtype, causal: bool) -> None:
    q, k, v = _qkv((2, 3), 13, 13, 8, 6, dtype=dtype, device=device)
    assert_close(impl(q, k, v, causal), F.scaled_dot_product_attention(q, k, v, is_causal=causal))


@settings(max_examples=60, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    t_q=st.integers(1, 20),
    t_k=st.integers(1, 20),
    d=st.integers(1, 9),
    d_v=st.integers(1, 9),
    causal=st.booleans(),
    block_q=st.integers(1, 8),
    block_k=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_flash_equals_sdpa_for_any_shape_and_tiling(batch, t_q, t_k, d, d_v, causal, block_q, block_k, seed) -> None:
    q, k, v = _qkv(tuple(batch), t_q, t_k, d, d_v, seed=seed)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert_close(flash_attention(q, k, v, causal=causal, block_q=block_q, block_k=block_k), expected)
    assert_close(chunked_attention(q, k, v, causal=causal, max_scores=block_q * block_k), expected)


@pytest.mark.parametrize("causal", [False, True])
def test_tiled_backward_equals_autograd_and_passes_gradcheck(causal: bool) -> None:
    q, k, v = (t.requires_grad_() for t in _qkv((2,), 11, 9, 4, 3))
    d_out = randn(2, 11, 3, seed=7)
    got = torch.autograd.grad(flash_attention(q, k, v, causal=causal, block_q=4, block_k=3), (q, k, v), d_out)
    want = torch.autograd.grad(F.scaled_dot_product_attention(q, k, v, is_causal=causal), (q, k, v), d_out)
    for g, w in zip(got, want, strict=True):
        assert_close(g, w)
    assert torch.autograd.gradcheck(lambda *t: flash_attention(*t, causal=causal, block_q=3, block_k=2), (q, k, v))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_accumulated_in_float32(dtype: torch.dtype) -> None:
    q, k, v = _qkv((2, 2), 64, 64, 16, 16, dtype=torch.float64)
    exact = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    out = flash_attention(*(t.to(dtype) for t in (q, k, v)), causal=True, block_q=16, block_k=16)
    assert out.dtype == dtype
    # no worse than PyTorch's own attention in the same dtype (plus one rounding of the output)
    torch_error = (
        (F.scaled_dot_product_attention(*(t.to(dtype) for t in (q, k, v)), is_causal=True).double() - exact).abs().max()
    )
    assert (out.double() - exact).abs().max() <= 2 * torch_error + torch.finfo(dtype).eps


def test_large_scores_do_not_overflow() -> None:
    q = torch.full((1, 4, 2), 300.0)
    k = torch.full((1, 6, 2), 300.0)
    v = torch.arange(12.0).reshape(1, 6, 2)
    out = flash_attention(q, k, v, block_q=2, block_k=2)
    assert torch.isfinite(out).all()
    assert_close(out, F.scaled_dot_product_attention(q, k, v))


def test_online_softmax_steps_track_max_and_rescaled_sum() -> None:
    scores = torch.tensor([0.5, -1.0, 4.0, 2.0, 7.0], dtype=torch.float64)
    p, steps = online_softmax(scores, block_size=2)
    assert_close(p, torch.softmax(scores, dim=0))
    assert [s.running_max for s in steps] == [0.5, 4.0, 7.0]
    for i, step in enumerate(steps):
        seen = scores[: 2 * (i + 1)]
        assert step.running_sum == pytest.approx(torch.exp(seen - seen.max()).sum().item())


@pytest.mark.parametrize("block_size", range(1, 8))
def test_online_softmax_of_masked_leading_blocks_equals_softmax(block_size: int) -> None:
    scores = torch.tensor([-torch.inf, -torch.inf, -torch.inf, 0.5, -torch.inf, 2.0, -1.0], dtype=torch.float64)
    p, _ = online_softmax(scores, block_size)
    assert_close(p, torch.softmax(scores, dim=0))  # no NaN, whichever block comes first


def test_online_softmax_of_only_minus_infinity_is_nan_as_in_torch() -> None:
    scores = torch.full((4,), -torch.inf)
    assert online_softmax(scores, 2)[0].isnan().all() and torch.softmax(scores, dim=0).isnan().all()


def test_keys_that_score_minus_infinity_give_the_same_answer_for_every_tiling() -> None:
    q, k, v = _qkv((2,), 6, 8, 4, 3)
    q[..., 0] = q[..., 0].abs() + 0.1
    k[..., :3, 0] = -torch.inf  # the first three keys score −∞ against every query
    expected = F.scaled_dot_product_attention(q, k, v)
    assert torch.isfinite(expected).all()
    for block_q in (1, 4, 6):
        for block_k in range(1, 9):  # up to three key tiles of −∞ scores first
            assert_close(flash_attention(q, k, v, block_q=block_q, block_k=block_k), expected)


def test_flash_keeps_no_score_matrix_for_backward() -> None:
    q, k, v = (t.requires_grad_() for t in _qkv((1, 2), 256, 256, 8, 8, dtype=torch.float32))
    saved: list[torch.Size] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.shape) or t, lambda t: t):
        flash_attention(q, k, v, causal=True)
    assert saved and all(s.numel() < 256 * 256 for s in saved)


qkv = torch.zeros(1, 4, 2)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: flash_attention(qkv[0, 0], qkv, qkv), ValueError, r"q must have shape \(tokens, d\)"),
        (lambda: flash_attention(qkv, qkv[0], qkv), ValueError, "k must have shape"),
        (lambda: flash_attention(qkv, qkv, qkv.int()), TypeError, "v must have a floating-point dtype"),
        (lambda: flash_attention(qkv, qkv, qkv.double()), TypeError, "q and v must have the same dtype"),
        (lambda: flash_attention(qkv, torch.zeros(2, 4, 2), qkv), ValueError, "share their batch dimensions"),
        (lambda: flash_attention(qkv, torch.zeros(1, 4, 3), qkv), ValueError, "same size d, got 2 and 3"),
        (lambda: flash_attention(qkv, qkv, torch.zeros(1, 5, 2)), ValueError, "same number of tokens, got 4 and 5"),
        (lambda: flash_attention(qkv, qkv, qkv, block_q=0), ValueError, "block_q must be a positive integer"),
        (lambda: flash_attention(qkv, qkv, qkv, block_k=2.0), TypeError, "block_k must be a positive integer"),
        (lambda: flash_attention(qkv, qkv, qkv, scale=0.0), ValueError, "scale must be a positive finite number"),
        (lambda: flash_attention(qkv, qkv, qkv, causal="yes"), TypeError, "causal must be True or False"),
        (lambda: chunked_attention(qkv, qkv, qkv, max_scores=0), ValueError, "max_scores must be a positive integer"),
        (lambda: online_softmax(torch.zeros(2, 2), 2), ValueError, r"scores must have shape \(tokens,\)"),
        (lambda: online_softmax(torch.zeros(2), 0), ValueError, "block_size must be a positive integer"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_tensors_on_two_devices_are_rejected() -> None:
    with pytest.raises(ValueError, match="q and k must be on the same device"):
        flash_attention(qkv, qkv.to("meta"), qkv)
