from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.device import rounded
from attn_examples.simple import (
    TOKENS,
    attention_matrix,
    attention_scores,
    context_vector,
    context_vector_loop,
    context_vectors,
    hello_shiny_sun,
    score_matrix,
    softmax,
)

DTYPES = [torch.float32, torch.float64]
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.mark.parametrize("dtype", DTYPES)
def test_worked_numbers_of_the_chapter(device: torch.device, dtype: torch.dtype) -> None:
    x = hello_shiny_sun(device=device, dtype=dtype)
    query = x[TOKENS.index("shiny")]
    scores = attention_scores(query, x)
    weights = softmax(scores)
    assert rounded(scores).tolist() == pytest.approx([0.7842, 1.3569, 1.2487], abs=1e-6)
    assert rounded(weights).tolist() == pytest.approx([0.2291, 0.4063, 0.3646], abs=1e-6)
    assert rounded(context_vector(query, x)).tolist() == pytest.approx([0.3990, 0.3854, 0.8610], abs=1e-6)
    assert context_vector(query, x).device == x.device


@pytest.mark.parametrize("dtype", DTYPES)
def test_loop_form_equals_matrix_form(device: torch.device, dtype: torch.dtype) -> None:
    x = hello_shiny_sun(device=device, dtype=dtype)
    all_at_once = context_vectors(x)
    for i in range(len(TOKENS)):
        loop = context_vector_loop(x[i], x)
        assert loop.dtype == dtype and loop.device == x.device
        torch.testing.assert_close(loop, context_vector(x[i], x), rtol=0, atol=TOLERANCE[dtype])
        torch.testing.assert_close(loop, all_at_once[i], rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_pytorch_attention(device: torch.device, dtype: torch.dtype) -> None:
    x = torch.randn(4, 7, 5, dtype=dtype, generator=torch.Generator().manual_seed(0)).to(device)
    reference = F.scaled_dot_product_attention(x, x, x, scale=1.0)
    torch.testing.assert_close(context_vectors(x), reference, rtol=0, atol=TOLERANCE[dtype])
    torch.testing.assert_close(
        attention_matrix(x), torch.softmax(x @ x.transpose(-2, -1), dim=-1), rtol=0, atol=TOLERANCE[dtype]
    )


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 2), (1, 3)])
def test_scaled_and_causal_options_match_pytorch(
    device: torch.device, shape: tuple[int, ...], scaled: bool, causal: bool
) -> None:
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).to(device)
    scale = 1 / math.sqrt(shape[-1]) if scaled else 1.0
    reference = F.scaled_dot_product_attention(x, x, x, is_causal=causal, scale=scale)
    torch.testing.assert_close(context_vectors(x, scaled=scaled, causal=causal), reference, rtol=0, atol=1e-12)
    scores = x @ x.transpose(-2, -1) * scale
    if causal:
        scores = scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), float("-inf"))
    torch.testing.assert_close(score_matrix(x, scaled=scaled, causal=causal), scores, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        attention_matrix(x, scaled=scaled, causal=causal), torch.softmax(scores, dim=-1), rtol=0, atol=1e-12
    )


def test_options_default_to_the_chapters_computation() -> None:
    x = hello_shiny_sun(dtype=torch.float64)
    torch.testing.assert_close(score_matrix(x), x @ x.T, rtol=0, atol=0)
    torch.testing.assert_close(context_vectors(x, scaled=False, causal=False), context_vectors(x), rtol=0, atol=0)


def test_causal_mask_hides_later_tokens_only() -> None:
    x = hello_shiny_sun(dtype=torch.float64)
    scores = score_matrix(x, causal=True)
    assert torch.isinf(scores).tolist() == [[False, True, True], [False, False, True], [False, False, False]]
    weights = attention_matrix(x, causal=True)
    assert weights[0].tolist() == [1.0, 0.0, 0.0]
    torch.testing.assert_close(weights[2], attention_matrix(x)[2], rtol=0, atol=1e-15)  # the last token sees all
    torch.testing.assert_close(context_vectors(x, causal=True)[0], x[0], rtol=0, atol=1e-15)


def test_scaling_divides_the_scores_by_the_square_root_of_d() -> None:
    x = torch.randn(5, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(score_matrix(x, scaled=True) * 3, score_matrix(x), rtol=1e-15, atol=0)


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_huge_scores_stay_finite(scaled: bool, causal: bool) -> None:
    # scores of order 1e6: exp() of them would overflow without subtracting each row's maximum
    x = torch.tensor([[1000.0, -200.0], [999.0, 3.0], [-1000.0, 1000.0]], dtype=torch.float64)
    weights = attention_matrix(x, scaled=scaled, causal=causal)
    context = context_vectors(x, scaled=scaled, causal=causal)
    assert torch.isfinite(weights).all() and torch.isfinite(context).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, dtype=torch.float64))
    scale = 1 / math.sqrt(2) if scaled else 1.0
    reference = F.scaled_dot_product_attention(x, x, x, is_causal=causal, scale=scale)
    torch.testing.assert_close(context, reference, rtol=1e-12, atol=1e-9)


def test_softmax_does_not_overflow() -> None:
    weights = softmax(torch.tensor([1000.0, 999.0, -1000.0]))
    assert torch.isfinite(weights).all()
    torch.testing.assert_close(weights, torch.softmax(torch.tensor([1000.0, 999.0, -1000.0]), dim=-1))


finite = st.floats(min_value=-10, max_value=10, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(
    batch=st.integers(1, 3),
    tokens=st.integers(1, 9),
    d=st.integers(1, 8),
    data=st.data(),
)
def test_weights_are_a_distribution_per_row(batch: int, tokens: int, d: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(finite, min_size=batch * tokens * d, max_size=batch * tokens * d))
    x = torch.tensor(values, dtype=torch.float64).reshape(batch, tokens, d)
    weights = attention_matrix(x)
    assert weights.shape == (batch, tokens, tokens)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(batch, tokens, dtype=torch.float64))


@settings(max_examples=40, deadline=None)
@given(tokens=st.integers(1, 6), d=st.integers(1, 5), data=st.data())
def test_loop_form_equals_matrix_form_on_random_inputs(tokens: int, d: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(finite, min_size=tokens * d, max_size=tokens * d))
    x = torch.tensor(values, dtype=torch.float64).reshape(tokens, d)
    i = data.draw(st.integers(0, tokens - 1))
    torch.testing.assert_close(context_vector_loop(x[i], x), context_vectors(x)[i], rtol=0, atol=1e-9)


x3 = hello_shiny_sun()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: context_vector(x3, x3),
            ValueError,
            r"query must have shape \(d,\), got a 2-D tensor of shape \(3, 3\)",
        ),
        (lambda: context_vector(x3[0], x3[0]), ValueError, r"inputs must have shape \(tokens, d\), got a 1-D"),
        (lambda: attention_matrix(torch.zeros(2, 2, 2, 2)), ValueError, r"\(tokens, d\) or \(batch, tokens, d\)"),
        (lambda: context_vector(x3[0, :2], x3), ValueError, "query has embedding size 2 but inputs has 3"),
        (lambda: context_vector(torch.tensor([1, 2, 3]), x3), TypeError, "floating-point dtype .* got torch.int64"),
        (lambda: context_vectors(torch.ones(3, 3, dtype=torch.int32)), TypeError, "got torch.int32"),
        (lambda: context_vector(x3[0], torch.zeros(0, 3)), ValueError, r"inputs must not be empty.*\(0, 3\)"),
        (lambda: context_vectors(torch.zeros(2, 0, 3)), ValueError, "must not be empty"),
        (lambda: context_vector(x3[0].double(), x3), TypeError, "same dtype, got torch.float64 and torch.float32"),
        (
            lambda: attention_scores([0.1, 0.2, 0.3], x3),
            TypeError,
            r"query must be a torch.Tensor of shape \(d,\), got list",
        ),
        (lambda: softmax(torch.tensor(1.0)), ValueError, "scores must have shape"),
        (lambda: score_matrix(x3[0]), ValueError, r"inputs must have shape \(tokens, d\) or \(batch, tokens, d\)"),
        (lambda: score_matrix(x3, scaled=1), TypeError, "scaled must be True or False, got int"),
        (lambda: attention_matrix(x3, causal="yes"), TypeError, "causal must be True or False, got str"),
        (lambda: context_vectors(x3, True), TypeError, "positional argument"),
        (lambda: softmax(x3, dim=None), ValueError, r"dim must be an int in \[-2, 1\] for these scores, got None"),
        (lambda: softmax(x3, dim=2), ValueError, "dim must be an int in"),
        (lambda: hello_shiny_sun(device="cuda:7"), ValueError, "'cuda:7' is not available here")
        if not torch.cuda.is_available()
        else (lambda: hello_shiny_sun(device="cuda:4096"), ValueError, "'cuda:4096' is not available here"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tensors_on_two_devices_are_rejected() -> None:
    with pytest.raises(ValueError, match="same device"):
        context_vector(x3[0].cuda(), x3)


def test_query_and_inputs_on_two_devices_are_rejected_without_a_gpu() -> None:
    with pytest.raises(ValueError, match="query and inputs must be on the same device, got meta and cpu"):
        context_vector(x3[0].to("meta"), x3)


def test_hello_shiny_sun_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"floating-point torch\.dtype"):
        hello_shiny_sun(dtype=torch.bool)
    with pytest.raises(ValueError, match="must name a PyTorch device"):
        hello_shiny_sun(device="gpu")


def test_the_loop_version_keeps_the_autograd_graph() -> None:
    x = hello_shiny_sun(dtype=torch.float64).requires_grad_()
    loop, fast = context_vector_loop(x[1], x), context_vector(x[1], x)
    (grad_loop,) = torch.autograd.grad(loop.sum(), x)
    (grad_fast,) = torch.autograd.grad(fast.sum(), x)
    torch.testing.assert_close(loop, fast)
    torch.testing.assert_close(grad_loop, grad_fast)
