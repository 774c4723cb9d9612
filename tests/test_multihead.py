from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.causal import CausalAttention, causal_mask
from attn_examples.multihead import MultiHeadAttention, MultiHeadAttentionWrapper, to_torch_multihead
from tests.helpers import DTYPES, assert_close, randn, seeded


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("qkv_bias", [True, False])
def test_matches_torch_multihead_attention(
    device: torch.device, dtype: torch.dtype, causal: bool, qkv_bias: bool
) -> None:
    ours = seeded(MultiHeadAttention, 12, 12, context_length=10, num_heads=3, qkv_bias=qkv_bias, causal=causal)
    ours = ours.to(device=device, dtype=dtype).eval()
    theirs = to_torch_multihead(ours).eval()
    x = randn(2, 8, 12, dtype=dtype, device=device)
    mask = torch.ones(8, 8, dtype=torch.bool, device=device).triu(1) if causal else None
    expected, _ = theirs(x, x, x, attn_mask=mask, need_weights=False)
    assert_close(ours(x), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [True, False])
def test_fused_and_explicit_forms_agree(device: torch.device, dtype: torch.dtype, causal: bool) -> None:
    fused = seeded(MultiHeadAttention, 6, 8, context_length=7, num_heads=4, causal=causal).to(device, dtype)
    explicit = seeded(MultiHeadAttention, 6, 8, context_length=7, num_heads=4, causal=causal, fused=False)
    explicit = explicit.to(device, dtype)
    x = randn(3, 7, 6, dtype=dtype, device=device)
    assert_close(fused(x), explicit(x))


# left padding (the first queries of a causal row see only padding), right padding, none
ALLOWED_KEYS = [[False, False, True, True, True, True, True], [True, True, True, True, True, False, False], [True] * 7]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("fused", [True, False])
def test_key_padding_matches_torch_where_a_query_has_a_key_and_gives_zeros_where_not(
    device: torch.device, dtype: torch.dtype, causal: bool, fused: bool
) -> None:
    ours = seeded(MultiHeadAttention, 6, 6, context_length=7, num_heads=2, causal=causal, fused=fused)
    ours = ours.to(device=device, dtype=dtype).eval()
    theirs = to_torch_multihead(ours).eval()
    x = randn(3, 7, 6, dtype=dtype, device=device)
    allowed_keys = torch.tensor(ALLOWED_KEYS, device=device)
    allowed = causal_mask(7, device) if causal else torch.ones(7, 7, dtype=torch.bool, device=device)
    has_key = (allowed & allowed_keys[:, None, :]).any(dim=-1)  # (batch, queries)
    attn_mask = ~causal_mask(7, device) if causal else None  # nn.MultiheadAttention: True where masked
    expected, _ = theirs(x, x, x, attn_mask=attn_mask, key_padding_mask=~allowed_keys, need_weights=False)
    out = ours(x, allowed_keys)
    assert_close(out[has_key], expected[has_key])
    # a query with no key: a zero context vector (as from F.scaled_dot_product_attention), so the out_proj bias
    assert causal == bool((~has_key).any())
    assert_close(out[~has_key], ours.out_proj.bias.expand(int((~has_key).sum()), 6))
    # what padding holds changes nothing for the real tokens
    noisy = x.masked_fill(~allowed_keys[..., None], 1e3)
    assert_close(ours(noisy, allowed_keys)[allowed_keys], out[allowed_keys])


def test_no_nan_reaches_the_gradients_through_a_query_without_keys() -> None:
    ours = seeded(MultiHeadAttention, 6, 6, context_length=7, num_heads=2, fused=False)
    x = randn(3, 7, 6).requires_grad_()
    ours(x, torch.tensor(ALLOWED_KEYS)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in ours.parameters() if p.grad is not None)


@pytest.mark.parametrize("dtype", DTYPES)
def test_wrapper_is_heads_side_by_side(device: torch.device, dtype: torch.dtype) -> None:
    wrapper = seeded(MultiHeadAttentionWrapper, 4, 3, context_length=6, num_heads=2).to(device, dtype)
    x = randn(2, 6, 4, dtype=dtype, device=device)
    out = wrapper(x)
    assert out.shape == (2, 6, 6)
    assert_close(out[..., :3], wrapper.heads[0](x))
    assert_close(out[..., 3:], wrapper.heads[1](x))


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 3),
    tokens=st.integers(1, 8),
    d_in=st.integers(1, 6),
    d_out=st.integers(1, 5),
    seed=st.integers(0, 1000),
)
def test_wrapper_with_one_head_equals_the_single_head(
    batch: int, tokens: int, d_in: int, d_out: int, seed: int
) -> None:
    wrapper = seeded(MultiHeadAttentionWrapper, d_in, d_out, context_length=tokens, num_heads=1, seed=seed)
    single = seeded(CausalAttention, d_in, d_out, context_length=tokens, seed=seed)
    x = randn(batch, tokens, d_in, seed=seed)
    torch.testing.assert_close(wrapper(x), single(x))


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 3),
    tokens=st.integers(1, 8),
    heads=st.integers(1, 4),
    head_dim=st.integers(1, 4),
    cut=st.integers(0, 7),
    seed=st.integers(0, 1000),
)
def test_causal_outputs_ignore_later_tokens(
    batch: int, tokens: int, heads: int, head_dim: int, cut: int, seed: int
) -> None:
    t = min(cut, tokens - 1)
    mha = seeded(MultiHeadAttention, 5, heads * head_dim, context_length=tokens, num_heads=heads, seed=seed)
    x = randn(batch, tokens, 5, seed=seed)
    changed = x.clone()
    changed[:, t + 1 :] += 1.0
    torch.testing.assert_close(mha(changed)[:, : t + 1], mha(x)[:, : t + 1])


@settings(max_examples=30, deadline=None)
@given(tokens=st.integers(1, 8), heads=st.integers(1, 3), seed=st.integers(0, 1000))
def test_without_mask_permuting_tokens_permutes_outputs(tokens: int, heads: int, seed: int) -> None:
    mha = seeded(MultiHeadAttention, 4, 2 * heads, context_length=tokens, num_heads=heads, causal=False, seed=seed)
    x = randn(2, tokens, 4, seed=seed)
    perm = torch.randperm(tokens, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(mha(x[:, perm]), mha(x)[:, perm])


def test_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    mha = MultiHeadAttention(4, 4, context_length=5, num_heads=2, dropout=0.5)
    x = torch.rand(1, 5, 4)
    mha.eval()
    assert torch.equal(mha(x), mha(x))
    mha.train()
    assert not torch.equal(mha(x), mha(x))


mha = MultiHeadAttention(4, 4, context_length=5, num_heads=2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: MultiHeadAttention(4, 6, context_length=5, num_heads=4),
            ValueError,
            "d_out must be divisible by num_heads, got d_out=6 and num_heads=4",
        ),
        (lambda: MultiHeadAttention(4, 4, context_length=5, num_heads=0), ValueError, "num_heads must be a positive"),
        (lambda: MultiHeadAttentionWrapper(4, 4, context_length=5, num_heads=-1), ValueError, "num_heads"),
        (lambda: mha(torch.rand(1, 6, 4)), ValueError, "6 tokens but the module's context_length is 5"),
        (lambda: mha(torch.rand(5, 4)), ValueError, r"x must have shape \(batch, tokens, d_in\), got \(5, 4\)"),
        (lambda: mha(torch.rand(1, 5, 3)), ValueError, "d_in=4 features"),
        (lambda: mha(torch.ones(1, 5, 4, dtype=torch.int64)), TypeError, "floating-point dtype"),
        (lambda: mha(torch.rand(1, 5, 4, dtype=torch.float64)), TypeError, "module's weights are torch.float32"),
        (
            lambda: to_torch_multihead(MultiHeadAttention(3, 4, 5, 2)),
            ValueError,
            "d_in == d_out, got d_in=3 and d_out=4",
        ),
        (lambda: to_torch_multihead(torch.nn.Linear(2, 2)), TypeError, "expected a MultiHeadAttention"),
        (lambda: mha(torch.rand(2, 5, 4), torch.ones(2, 5)), TypeError, "allowed_keys must be a boolean tensor"),
        (
            lambda: mha(torch.rand(2, 5, 4), torch.ones(2, 4, dtype=torch.bool)),
            ValueError,
            r"allowed_keys must have shape \(batch, tokens\) = \(2, 5\), got \(2, 4\)",
        ),
        (
            lambda: mha(torch.rand(2, 5, 4), torch.ones(2, 5, dtype=torch.bool, device="meta")),
            ValueError,
            "allowed_keys must be on x's device",
        ),
        (lambda: MultiHeadAttention(4, 4, 5, 2, causal="no"), TypeError, "causal must be True or False, got str"),
        (lambda: MultiHeadAttention(4, 4, 5, 2, qkv_bias=0), TypeError, "qkv_bias must be True or False, got int"),
        (lambda: MultiHeadAttention(4, 4, 5, 2, fused=None), TypeError, "fused must be True or False"),
        (lambda: MultiHeadAttentionWrapper(4, 2, 5, 2, qkv_bias="no"), TypeError, "qkv_bias must be True or False"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_input_to_a_gpu_module_is_rejected() -> None:
    with pytest.raises(ValueError, match="on cuda"):
        MultiHeadAttention(4, 4, 5, 2).cuda()(torch.rand(1, 5, 4))


def test_input_on_another_device_is_rejected_without_a_gpu() -> None:
    with pytest.raises(ValueError, match="x is on meta but the module's weights are on cpu"):
        mha(torch.rand(1, 5, 4, device="meta"))
