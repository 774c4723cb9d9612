from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.causal import CausalAttention, causal_mask, causal_weights_masked, causal_weights_renormalised
from tests.helpers import DTYPES, assert_close, randn, seeded, shapes


@pytest.mark.parametrize("dtype", DTYPES)
def test_both_masking_methods_agree(device: torch.device, dtype: torch.dtype) -> None:
    scores = randn(3, 7, 7, dtype=dtype, device=device)
    assert_close(causal_weights_renormalised(scores), causal_weights_masked(scores))
    assert (causal_weights_masked(scores).triu(diagonal=1) == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_module_matches_pytorch_causal_attention(device: torch.device, dtype: torch.dtype) -> None:
    ca = seeded(CausalAttention, 5, 4, context_length=9).to(device=device, dtype=dtype)
    x = randn(2, 7, 5, dtype=dtype, device=device)  # shorter than the context length
    q, k, v = ca.W_query(x), ca.W_key(x), ca.W_value(x)
    assert_close(ca(x), F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert_close(ca(x), F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(7, device)))


def test_mask_is_a_buffer_that_moves_with_the_module() -> None:
    ca = CausalAttention(3, 2, context_length=4)
    assert "allowed" in dict(ca.named_buffers()) and ca.allowed.dtype == torch.bool
    assert torch.equal(ca.allowed, causal_mask(4))  # True where a query may look, as causal_mask
    assert ca.double().allowed.dtype == torch.bool  # .double() converts weights, not the boolean mask


def test_dropout_rescales_in_training_and_is_off_in_eval() -> None:
    torch.manual_seed(0)
    ca = CausalAttention(3, 2, context_length=6, dropout=0.5)
    x = torch.rand(2, 6, 3)
    ca.eval()
    first = ca(x)
    assert torch.equal(first, ca(x))  # deterministic in eval mode
    ca.train()
    assert not torch.equal(first, ca(x))
    dropout = torch.nn.Dropout(0.5).train()
    kept = dropout(torch.ones(1000))
    assert set(kept.unique().tolist()) <= {0.0, 2.0}


@settings(max_examples=40, deadline=None)
@given(shape=shapes, cut=st.integers(0, 8), seed=st.integers(0, 2**16))
def test_outputs_do_not_depend_on_the_future(shape: tuple[int, int, int], cut: int, seed: int) -> None:
    batch, tokens, d_in = shape
    t = min(cut, tokens - 1)
    ca = seeded(CausalAttention, d_in, 3, context_length=tokens, seed=seed % 100)
    x = randn(batch, tokens, d_in, seed=seed)
    changed = x.clone()
    changed[:, t + 1 :] = randn(batch, tokens - t - 1, d_in, seed=seed + 1)
    torch.testing.assert_close(ca(changed)[:, : t + 1], ca(x)[:, : t + 1])


@settings(max_examples=40, deadline=None)
@given(tokens=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_causal_weights_are_a_distribution_over_the_past(tokens: int, seed: int) -> None:
    weights = causal_weights_masked(randn(tokens, tokens, seed=seed))
    assert (weights >= 0).all() and (weights.triu(1) == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(tokens, dtype=torch.float64))


ca = CausalAttention(3, 2, context_length=4)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ca(torch.rand(1, 5, 3)), ValueError, "x has 5 tokens but the module's context_length is 4"),
        (lambda: ca(torch.rand(1, 4, 2)), ValueError, "d_in=3 features"),
        (lambda: ca(torch.rand(4)), ValueError, r"\(batch, tokens, d_in\)"),
        (lambda: ca(torch.ones(1, 4, 3, dtype=torch.int32)), TypeError, "floating-point dtype"),
        (lambda: CausalAttention(3, 2, context_length=4, dropout=-0.1), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: CausalAttention(3, 2, context_length=0), ValueError, "context_length must be a positive integer"),
        (
            lambda: causal_weights_masked(torch.rand(2, 3)),
            ValueError,
            r"square scores \(tokens, tokens\), got \(2, 3\)",
        ),
        (lambda: causal_weights_renormalised(torch.ones(2, 2, dtype=torch.int64)), TypeError, "floating-point"),
        (lambda: causal_mask(0), ValueError, "tokens must be a positive integer"),
        (lambda: causal_mask(3, device="nope"), ValueError, "device must name a PyTorch device"),
        (lambda: CausalAttention(3, 2, 4, qkv_bias="no"), TypeError, "qkv_bias must be True or False, got str"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_module_on_gpu_rejects_cpu_input() -> None:
    with pytest.raises(ValueError, match="module's weights are on cuda"):
        CausalAttention(3, 2, 4).cuda()(torch.rand(1, 4, 3))


def test_input_on_another_device_is_rejected_without_a_gpu() -> None:
    with pytest.raises(ValueError, match="x is on meta but the module's weights are on cpu"):
        ca(torch.rand(1, 4, 3, device="meta"))
