from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.cross import CrossAttention
from attn_examples.self_attention import SelfAttentionV2
from tests.helpers import DTYPES, assert_close, randn, seeded


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_pytorch_with_different_lengths_and_sizes(device: torch.device, dtype: torch.dtype) -> None:
    cross = seeded(CrossAttention, 3, 2, d_v=4, d_in_kv=5).to(device, dtype)
    x_1, x_2 = randn(2, 6, 3, dtype=dtype, device=device), randn(2, 9, 5, dtype=dtype, device=device, seed=1)
    out = cross(x_1, x_2)
    assert out.shape == (2, 6, 4)
    expected = F.scaled_dot_product_attention(cross.W_query(x_1), cross.W_key(x_2), cross.W_value(x_2))
    assert_close(out, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_input_twice_is_self_attention(device: torch.device, dtype: torch.dtype) -> None:
    cross = seeded(CrossAttention, 3, 2, d_v=4, seed=5).to(device, dtype)
    sa = seeded(SelfAttentionV2, 3, 2, d_v=4, seed=5).to(device, dtype)
    x = randn(6, 3, dtype=dtype, device=device)
    assert_close(cross(x, x), sa(x))


@settings(max_examples=40, deadline=None)
@given(t1=st.integers(1, 7), t2=st.integers(1, 7), seed=st.integers(0, 1000))
def test_permuting_the_keys_changes_nothing(t1: int, t2: int, seed: int) -> None:
    cross = seeded(CrossAttention, 3, 2, seed=seed)
    x_1, x_2 = randn(1, t1, 3, seed=seed), randn(1, t2, 3, seed=seed + 1)
    perm = torch.randperm(t2, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(cross(x_1, x_2[:, perm]), cross(x_1, x_2))


cross = CrossAttention(3, 2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cross(torch.rand(1, 4, 3), torch.rand(2, 5, 3)), ValueError, "same batch shape"),
        (lambda: cross(torch.rand(1, 4, 3), torch.rand(5, 3)), ValueError, "same batch shape"),
        (lambda: cross(torch.rand(1, 4, 2), torch.rand(1, 5, 3)), ValueError, "x_1 must have d_in=3"),
        (lambda: cross(torch.rand(1, 4, 3), torch.rand(1, 5, 2)), ValueError, "x_2 must have d_in=3"),
        (
            lambda: cross(torch.rand(1, 4, 3), torch.ones(1, 5, 3, dtype=torch.int64)),
            TypeError,
            "x_2 must have a floating",
        ),
        (lambda: cross(torch.rand(1, 0, 3), torch.rand(1, 5, 3)), ValueError, "x_1 must not be empty"),
        (lambda: CrossAttention(3, 2, d_in_kv=0), ValueError, "d_in_kv must be a positive integer"),
        (lambda: CrossAttention(3, 2, qkv_bias="no"), TypeError, "qkv_bias must be True or False, got str"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_inputs_on_two_devices_are_rejected() -> None:
    with pytest.raises(ValueError, match="x_2 is on meta but the module's weights are on cpu"):
        cross(torch.rand(1, 4, 3), torch.rand(1, 5, 3, device="meta"))
