"""Every public function of the reader's package, fed the classes of bad input a reader can pass.

For each function a valid call is written down once; each tensor argument is then replaced in turn
by a list, None, an integer, boolean or complex tensor, a tensor of another rank, an empty tensor,
a meta tensor, a float64 tensor and a tensor holding a NaN or an infinity. The call must either
refuse with a ``ValueError`` or ``TypeError`` whose message names the argument, or (where the
replacement is valid, say a float64 tensor given alone) return a finite result; a NaN or an
infinity given may come back as NaN, as in PyTorch. An error from deep inside torch (a ``RuntimeError``,
``IndexError``, ``AttributeError``...) fails the test, as does a NaN or an infinity nobody asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from attn_examples import (
    averaging,
    backward,
    causal,
    cross,
    flash,
    kv_cache,
    multihead,
    positions,
    self_attention,
    simple,
)


def _x(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(sum(shape)))


@dataclass(frozen=True)
class Call:
    """``fn(**tensors)``: ``tensors`` holds the valid value of each tensor argument."""

    fn: Callable[..., object]
    tensors: dict[str, torch.Tensor]


torch.manual_seed(0)
MODULES = {
    "SelfAttentionV1": self_attention.SelfAttentionV1(3, 2),
    "SelfAttentionV2": self_attention.SelfAttentionV2(3, 2),
    "CausalAttention": causal.CausalAttention(3, 2, context_length=6),
    "MultiHeadAttention": multihead.MultiHeadAttention(4, 4, context_length=6, num_heads=2),
    "MultiHeadAttention unfused": multihead.MultiHeadAttention(4, 4, context_length=6, num_heads=2, fused=False),
    "MultiHeadAttentionWrapper": multihead.MultiHeadAttentionWrapper(4, 2, context_length=6, num_heads=2),
    "CrossAttention": cross.CrossAttention(3, 2),
    "DataDependentHead": averaging.DataDependentHead(3, 2, context_length=6),
    **{
        f"PositionalMultiHeadAttention {kind}": positions.PositionalMultiHeadAttention(
            4, 4, context_length=6, num_heads=2, positions=kind
        )
        for kind in positions.POSITIONS
    },
    "SinusoidalPositions": positions.SinusoidalPositions(4),
    "LearnedPositions": positions.LearnedPositions(6, 4),
}

THREE_FEATURES = {"SelfAttentionV1", "SelfAttentionV2", "CausalAttention", "DataDependentHead"}  # d_in=3
CALLS = {
    "simple.attention_scores": Call(simple.attention_scores, {"query": _x(3), "inputs": _x(4, 3)}),
    "simple.softmax": Call(simple.softmax, {"scores": _x(4)}),
    "simple.context_vector": Call(simple.context_vector, {"query": _x(3), "inputs": _x(4, 3)}),
    "simple.context_vector_loop": Call(simple.context_vector_loop, {"query": _x(3), "inputs": _x(4, 3)}),
    "simple.score_matrix": Call(simple.score_matrix, {"inputs": _x(4, 3)}),
    "simple.attention_matrix": Call(simple.attention_matrix, {"inputs": _x(4, 3)}),
    "simple.context_vectors": Call(simple.context_vectors, {"inputs": _x(4, 3)}),
    "averaging.running_average_loops": Call(averaging.running_average_loops, {"x": _x(2, 5, 3)}),
    "averaging.running_average_matmul": Call(averaging.running_average_matmul, {"x": _x(2, 5, 3)}),
    "averaging.running_average_softmax": Call(averaging.running_average_softmax, {"x": _x(2, 5, 3)}),
    "self_attention.attention_weights": Call(self_attention.attention_weights, {"q": _x(2, 4, 3), "k": _x(2, 5, 3)}),
    "self_attention.scaled_dot_product_attention": Call(
        self_attention.scaled_dot_product_attention, {"q": _x(2, 4, 3), "k": _x(2, 5, 3), "v": _x(2, 5, 2)}
    ),
    "causal.causal_weights_renormalised": Call(causal.causal_weights_renormalised, {"scores": _x(4, 4)}),
    "causal.causal_weights_masked": Call(causal.causal_weights_masked, {"scores": _x(4, 4)}),
    "backward.softmax_jacobian": Call(backward.softmax_jacobian, {"a": torch.softmax(_x(4), 0)}),
    "backward.softmax_backward": Call(backward.softmax_backward, {"a": torch.softmax(_x(3, 4), -1), "da": _x(3, 4)}),
    "backward.attention_forward": Call(
        backward.attention_forward, {"x": _x(3, 4), "w_q": _x(4, 2), "w_k": _x(4, 2), "w_v": _x(4, 2)}
    ),
    "backward.sum_loss_and_grad": Call(backward.sum_loss_and_grad, {"z": _x(3, 2)}),
    "backward.bce_loss_and_grad": Call(
        backward.bce_loss_and_grad, {"z": _x(3, 2), "w_out": _x(2, 1), "target": torch.tensor([[1.0], [0.0], [1.0]])}
    ),
    "flash.online_softmax": Call(lambda scores: flash.online_softmax(scores, 2)[0], {"scores": _x(5)}),
    "flash.flash_attention": Call(
        lambda q, k, v: flash.flash_attention(q, k, v, block_q=2, block_k=3),
        {"q": _x(1, 2, 5, 4), "k": _x(1, 2, 6, 4), "v": _x(1, 2, 6, 3)},
    ),
    "flash.chunked_attention": Call(
        lambda q, k, v: flash.chunked_attention(q, k, v, max_scores=8),
        {"q": _x(1, 2, 5, 4), "k": _x(1, 2, 6, 4), "v": _x(1, 2, 6, 3)},
    ),
    "kv_cache.cached_attention": Call(
        lambda x: kv_cache.cached_attention(
            MODULES["PositionalMultiHeadAttention rope"], x, kv_cache.KVCache(2, 2, 2, 6)
        ),
        {"x": _x(2, 3, 4)},
    ),
    "kv_cache.KVCache.append": Call(
        lambda keys, values: kv_cache.KVCache(1, 2, 4, 6).append(keys, values),
        {"keys": _x(1, 2, 3, 4), "values": _x(1, 2, 3, 4)},
    ),
    "positions.apply_rope": Call(lambda x: positions.apply_rope(x, torch.arange(5)), {"x": _x(2, 2, 5, 4)}),
    "positions.equivariance_gap": Call(
        lambda x: positions.equivariance_gap(MODULES["MultiHeadAttention"], x, torch.tensor([2, 0, 1])),
        {"x": _x(2, 3, 4)},
    ),
    **{
        f"{name}.forward": Call(module, {"x": _x(2, 5, 3 if name in THREE_FEATURES else 4)})
        for name, module in MODULES.items()
        if name != "CrossAttention"
    },
    "CrossAttention.forward": Call(MODULES["CrossAttention"], {"x_1": _x(2, 4, 3), "x_2": _x(2, 6, 3)}),
}


def _bad_values(valid: torch.Tensor) -> dict[str, object]:
    return {
        "a list": valid.tolist(),
        "None": None,
        "an integer tensor": valid.to(torch.int64),
        "a boolean tensor": valid > 0.5,
        "a complex tensor": valid.to(torch.complex64),
        "a 0-d tensor": torch.tensor(0.5),
        "a 6-d tensor": valid.reshape(*(1,) * (6 - valid.dim()), *valid.shape) if valid.dim() < 6 else valid,
        "an empty tensor": torch.zeros(*valid.shape[:-1], 0) if valid.dim() > 1 else torch.zeros(0),
        "a meta tensor": valid.to("meta"),
        "a float64 tensor": valid.double(),
        "a tensor with a NaN": valid.flatten().index_fill(0, torch.tensor([0]), torch.nan).reshape(valid.shape),
        "a tensor with an infinity": valid.flatten().index_fill(0, torch.tensor([0]), torch.inf).reshape(valid.shape),
    }


# a NaN or an infinity given may come back as NaN (as in PyTorch): only an obscure error fails these
NON_FINITE = {"a tensor with a NaN", "a tensor with an infinity"}


CASES = [
    pytest.param(name, argument, kind, id=f"{name}-{argument}-{kind}")
    for name, call in CALLS.items()
    for argument, valid in call.tensors.items()
    for kind in _bad_values(valid)
]


@pytest.mark.parametrize(("name", "argument", "kind"), CASES)
def test_bad_input_gets_a_clear_error_or_a_finite_answer(name: str, argument: str, kind: str) -> None:
    call = CALLS[name]
    bad = _bad_values(call.tensors[argument])[kind]
    try:
        result = call.fn(**{**call.tensors, argument: bad})
    except (ValueError, TypeError) as error:
        if "positional argument" in str(error):
            raise
        assert argument in str(error) or (kind == "a meta tensor" and "meta" in str(error)), str(error)
        return
    outputs = result if isinstance(result, tuple) else (result,)
    for out in () if kind in NON_FINITE else outputs:
        if isinstance(out, torch.Tensor) and out.device.type != "meta":
            assert out.is_floating_point() and torch.isfinite(out).all(), f"{kind} for {argument} gave {out}"
