from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.averaging import (
    DataDependentHead,
    averaging_matrix,
    running_average_loops,
    running_average_matmul,
    running_average_softmax,
)
from tests.helpers import DTYPES, assert_close, randn, seeded

METHODS = [running_average_loops, running_average_matmul, running_average_softmax]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", METHODS[1:])
def test_three_methods_agree(device: torch.device, dtype: torch.dtype, method) -> None:
    x = randn(4, 8, 2, dtype=dtype, device=device)
    assert_close(method(x), running_average_loops(x))


@settings(max_examples=50, deadline=None)
@given(batch=st.integers(1, 3), tokens=st.integers(1, 10), channels=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_three_methods_agree_on_random_shapes(batch: int, tokens: int, channels: int, seed: int) -> None:
    x = randn(batch, tokens, channels, seed=seed)
    expected = torch.stack([x[:, : t + 1].mean(dim=1) for t in range(tokens)], dim=1)
    for method in METHODS:
        torch.testing.assert_close(method(x), expected)


def test_averaging_matrix_rows_are_distributions() -> None:
    w = averaging_matrix(6, dtype=torch.float64)
    torch.testing.assert_close(w.sum(-1), torch.ones(6, dtype=torch.float64))
    assert (w.triu(1) == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_head_matches_pytorch_causal_attention(device: torch.device, dtype: torch.dtype) -> None:
    head = seeded(DataDependentHead, 32, 16, context_length=8).to(device, dtype)
    x = randn(4, 8, 32, dtype=dtype, device=device)
    expected = torch.nn.functional.scaled_dot_product_attention(
        head.W_query(x), head.W_key(x), head.W_value(x), is_causal=True
    )
    assert_close(head(x), expected)


def test_head_weights_depend_on_the_data_and_are_causal() -> None:
    head = seeded(DataDependentHead, 32, 16, context_length=8)
    w1, w2 = head.weights(randn(1, 8, 32, seed=1)), head.weights(randn(1, 8, 32, seed=2))
    assert not torch.allclose(w1, w2)
    for w in (w1, w2):
        assert (w.triu(1) == 0).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(1, 8, dtype=torch.float64))


def test_batch_elements_do_not_talk_to_each_other() -> None:
    head = seeded(DataDependentHead, 4, 3, context_length=5)
    x = randn(3, 5, 4)
    changed = x.clone()
    changed[1] += 1.0
    torch.testing.assert_close(head(changed)[[0, 2]], head(x)[[0, 2]])


head = DataDependentHead(4, 3, context_length=5)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: running_average_loops(torch.rand(5)),
            ValueError,
            r"\(tokens, channels\) or \(batch, tokens, channels\)",
        ),
        (lambda: running_average_matmul(torch.ones(2, 3, dtype=torch.int64)), TypeError, "floating-point"),
        (lambda: running_average_softmax(torch.rand(2, 0, 3)), ValueError, "must not be empty"),
        (lambda: averaging_matrix(0), ValueError, "tokens must be a positive integer"),
        (lambda: head(torch.rand(1, 6, 4)), ValueError, "context_length is 5"),
        (lambda: head(torch.rand(1, 5, 3)), ValueError, "d_in=4 features"),
        (lambda: DataDependentHead(4, 0, 5), ValueError, "d_out must be a positive integer"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_input_on_another_device_is_rejected_without_a_gpu() -> None:
    with pytest.raises(ValueError, match="x is on meta but the module's weights are on cpu"):
        head(torch.rand(1, 5, 4, device="meta"))
