from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.self_attention import (
    JOURNEY_TOKENS,
    SelfAttentionV1,
    SelfAttentionV2,
    attention_weights,
    embed_sentence,
    scaled_dot_product_attention,
    scaling_statistics,
    v1_from_v2,
    your_journey,
)
from tests.helpers import DTYPES, assert_close, randn, seeded, shapes


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_matches_pytorch(device: torch.device, dtype: torch.dtype) -> None:
    q, k, v = (randn(2, 3, 5, 4, dtype=dtype, device=device, seed=s) for s in range(3))
    assert_close(scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v))


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_with_boolean_and_causal_masks(device: torch.device, dtype: torch.dtype) -> None:
    q, k, v = (randn(2, 6, 8, dtype=dtype, device=device, seed=s) for s in range(3))
    mask = randn(6, 6, device=device, seed=7) > 0
    mask |= torch.eye(6, dtype=torch.bool, device=device)  # every query keeps at least one key
    assert_close(
        scaled_dot_product_attention(q, k, v, mask=mask), F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    )
    causal = torch.ones(6, 6, dtype=torch.bool, device=device).tril()
    assert_close(
        scaled_dot_product_attention(q, k, v, mask=causal), F.scaled_dot_product_attention(q, k, v, is_causal=True)
    )


def test_functional_dropout_keeps_the_expectation() -> None:
    torch.manual_seed(0)
    q = k = torch.zeros(1, 4, 2)
    v = torch.ones(1, 4, 3)
    outs = torch.stack([scaled_dot_product_attention(q, k, v, dropout_p=0.5) for _ in range(4000)])
    assert outs.mean().item() == pytest.approx(1.0, abs=0.03)  # kept weights are scaled by 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("module_class", [SelfAttentionV1, SelfAttentionV2])
def test_modules_match_pytorch(device: torch.device, dtype: torch.dtype, module_class) -> None:
    sa = seeded(module_class, 5, 4, d_v=3).to(device=device, dtype=dtype)
    x = randn(2, 7, 5, dtype=dtype, device=device)
    if module_class is SelfAttentionV1:
        q, k, v = x @ sa.W_query, x @ sa.W_key, x @ sa.W_value
    else:
        q, k, v = sa.W_query(x), sa.W_key(x), sa.W_value(x)
    assert sa(x).shape == (2, 7, 3)
    assert_close(sa(x), F.scaled_dot_product_attention(q, k, v))


@pytest.mark.parametrize("dtype", DTYPES)
def test_v1_from_v2_gives_the_same_output(device: torch.device, dtype: torch.dtype) -> None:
    v2 = seeded(SelfAttentionV2, 3, 2, d_v=4).to(device=device, dtype=dtype)
    v1 = v1_from_v2(v2)
    x = randn(6, 3, dtype=dtype, device=device)
    assert v1.W_value.shape == (3, 4) and v1.W_query.device == v2.W_query.weight.device
    assert_close(v1(x), v2(x))


def test_life_is_short_embedding_is_deterministic_and_d_v_differs() -> None:
    x = embed_sentence()
    assert torch.equal(x, embed_sentence()) and x.shape == (6, 3)
    torch.manual_seed(123)
    sa = SelfAttentionV2(d_in=3, d_out=2, d_v=4)
    assert sa(x).shape == (6, 4)


def test_scaling_keeps_unit_variance_and_avoids_saturation() -> None:
    small, large = scaling_statistics(4), scaling_statistics(1024)
    assert large["variance"] == pytest.approx(1024, rel=0.1)
    assert large["variance_scaled"] == pytest.approx(1, rel=0.1)
    assert large["max_weight"] > 0.95 > small["max_weight"]
    assert abs(large["max_weight_scaled"] - small["max_weight_scaled"]) < 0.05


@settings(max_examples=40, deadline=None)
@given(shape=shapes, d_out=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_weights_are_a_distribution(shape: tuple[int, int, int], d_out: int, seed: int) -> None:
    batch, tokens, _ = shape
    q, k = randn(batch, tokens, d_out, seed=seed), randn(batch, tokens, d_out, seed=seed + 1)
    weights = attention_weights(q, k)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(batch, tokens, dtype=torch.float64))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_permuting_tokens_permutes_outputs(shape: tuple[int, int, int], seed: int) -> None:
    batch, tokens, d_in = shape
    sa = seeded(SelfAttentionV2, d_in, 3, seed=seed % 100)
    x = randn(batch, tokens, d_in, seed=seed)
    perm = torch.randperm(tokens, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(sa(x[:, perm]), sa(x)[:, perm])


sa2 = SelfAttentionV2(3, 2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: sa2(torch.rand(3)), ValueError, r"x must have shape \(tokens, d_in\) or \(batch, tokens, d_in\)"),
        (lambda: sa2(torch.rand(1, 2, 3, 3)), ValueError, "got a 4-D tensor"),
        (lambda: sa2(torch.rand(4, 5)), ValueError, r"d_in=3 features in its last dimension, got shape \(4, 5\)"),
        (lambda: sa2(torch.ones(4, 3, dtype=torch.int64)), TypeError, "floating-point dtype"),
        (lambda: sa2(torch.rand(4, 3, dtype=torch.float64)), TypeError, "module's weights are torch.float32"),
        (lambda: sa2(torch.rand(0, 3)), ValueError, "must not be empty"),
        (lambda: SelfAttentionV1(3, 0), ValueError, "d_out must be a positive integer, got 0"),
        (lambda: SelfAttentionV2(3, 2.5), TypeError, "d_out must be a positive integer, got float"),
        (
            lambda: scaled_dot_product_attention(torch.rand(2, 4), torch.rand(2, 3), torch.rand(2, 3)),
            ValueError,
            "same size d_k, got 4 and 3",
        ),
        (
            lambda: scaled_dot_product_attention(torch.rand(2, 3), torch.rand(2, 3), torch.rand(5, 3)),
            ValueError,
            "same number of tokens",
        ),
        (
            lambda: scaled_dot_product_attention(torch.rand(2, 3), torch.rand(2, 3), torch.rand(2, 3), dropout_p=1.5),
            ValueError,
            r"dropout_p must be in \[0, 1\)",
        ),
        (
            lambda: attention_weights(torch.rand(2, 3), torch.rand(2, 3), mask=torch.ones(2, 2)),
            TypeError,
            "mask must be a boolean tensor",
        ),
        (
            lambda: attention_weights(torch.rand(2, 3), torch.rand(2, 3), mask=torch.zeros(2, 2, dtype=torch.bool)),
            ValueError,
            "no key to attend to",
        ),
        (lambda: attention_weights(torch.rand(2, 3), torch.rand(2, 3, dtype=torch.float64)), TypeError, "same dtype"),
        (lambda: v1_from_v2(SelfAttentionV2(3, 2, qkv_bias=True)), ValueError, "qkv_bias=False"),
        (lambda: v1_from_v2(SelfAttentionV1(3, 2)), TypeError, "expected a SelfAttentionV2"),
        (lambda: embed_sentence(" , "), ValueError, "at least one word"),
        (
            lambda: attention_weights(torch.rand(2, 3), torch.rand(4, 3), mask=torch.ones(3, 3, dtype=torch.bool)),
            ValueError,
            r"mask must broadcast to the scores' shape \(\.\.\., tokens_q, tokens_k\) = \(2, 4\), got \(3, 3\)",
        ),
        (
            lambda: attention_weights(torch.rand(2, 4, 3), torch.rand(3, 5, 3)),
            ValueError,
            r"q and k must have the same batch shape, got \(2, 4, 3\) and \(3, 5, 3\)",
        ),
        (
            lambda: attention_weights(
                torch.rand(2, 3), torch.rand(4, 3), mask=torch.ones(2, 4, dtype=torch.bool, device="meta")
            ),
            ValueError,
            "mask must be on the device of q",
        ),
        (lambda: SelfAttentionV2(3, 2, qkv_bias="no"), TypeError, "qkv_bias must be True or False, got str"),
        (lambda: scaling_statistics(4, tokens=0), ValueError, "tokens must be a positive integer, got 0"),
        (lambda: scaling_statistics(4, samples=0), ValueError, "samples must be a positive integer, got 0"),
        (lambda: scaling_statistics(4, samples=1, tokens=1), ValueError, "a variance needs at least two scores"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_input_on_another_device_is_rejected() -> None:
    with pytest.raises(ValueError, match="module's weights are on cpu"):
        sa2(torch.rand(4, 3, device="cuda"))
    with pytest.raises(ValueError, match="same device"):
        scaled_dot_product_attention(torch.rand(2, 3), torch.rand(2, 3, device="cuda"), torch.rand(2, 3))


def test_tensors_on_two_devices_are_rejected_without_a_gpu() -> None:
    # the "meta" device holds shapes only: enough to show the device check on any machine
    with pytest.raises(ValueError, match="x is on meta but the module's weights are on cpu"):
        sa2(torch.rand(4, 3, device="meta"))
    with pytest.raises(ValueError, match="q and k must be on the same device, got cpu and meta"):
        attention_weights(torch.rand(2, 3), torch.rand(2, 3, device="meta"))
    with pytest.raises(ValueError, match="q and v must be on the same device"):
        scaled_dot_product_attention(torch.rand(2, 3), torch.rand(2, 3), torch.rand(2, 3, device="meta"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_your_journey_has_one_row_per_token(device: torch.device, dtype: torch.dtype) -> None:
    x = your_journey(device=device, dtype=dtype)
    assert x.shape == (len(JOURNEY_TOKENS), 3) and x.device.type == device.type and x.dtype == dtype
    assert x[0].tolist() == pytest.approx([0.43, 0.15, 0.89], abs=1e-6)
    assert x[JOURNEY_TOKENS.index("step")].tolist() == pytest.approx([0.05, 0.80, 0.55], abs=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"dtype": torch.int64}, TypeError, r"floating-point torch\.dtype"),
        ({"dtype": "float32"}, TypeError, r"floating-point torch\.dtype"),
        ({"device": 0}, TypeError, r"torch\.device, a str or None"),
        ({"device": "gpu"}, ValueError, "must name a PyTorch device"),
    ],
)
def test_your_journey_rejects_bad_arguments(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        your_journey(**kwargs)


def test_embedding_a_sentence_leaves_the_callers_random_state_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    first = embed_sentence()
    assert torch.equal(torch.rand(3), expected)
    assert torch.equal(embed_sentence(), first)  # and is the same whatever the state before


def test_sdpa_checks_every_input_before_computing_weights(monkeypatch) -> None:
    def computed(*args, **kwargs):
        raise AssertionError("weights computed before v was checked")

    monkeypatch.setattr("attn_examples.self_attention.attention_weights", computed)
    with pytest.raises(ValueError, match="k and v must have the same number of tokens"):
        scaled_dot_product_attention(torch.rand(2, 3), torch.rand(4, 3), torch.rand(5, 3))
