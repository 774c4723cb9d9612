"""Causal (masked) self-attention: the chapter "causal-attention".

A language model that predicts the next token must not look at the tokens
after the one it is predicting from. Causal attention gives every future
position a weight of exactly zero, either by renormalising after the
softmax or, more simply, by setting future scores to −∞ before it.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import torch
from torch import nn

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_bool,
    check_device,
    check_float_tensor,
    check_module_input,
    check_positive_int,
    check_probability,
    checked_by,
    checked_methods,
)
from attn_examples.chapters import Example, Heatmap, Outputs, moved
from attn_examples.self_attention import JOURNEY_TOKENS, your_journey


# --8<-- [start:masks]
# --8<-- [start:causal_mask]
def causal_mask(tokens: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean ``(tokens, tokens)`` matrix, True where query ``i`` may see key ``j`` (``j ≤ i``).

    >>> causal_mask(3)
    tensor([[ True, False, False],
            [ True,  True, False],
            [ True,  True,  True]])
    """
    return torch.ones(tokens, tokens, dtype=torch.bool, device=device).tril()


# --8<-- [end:causal_mask]


def causal_weights_renormalised(scores: torch.Tensor) -> torch.Tensor:
    """Method 1: softmax over all keys, zero the future, divide each row by its new sum.

    Computed in the scores' own dtype, even half precision, to show where this method
    fails (its allowed weights can underflow to 0, and a row to 0/0): use method 2.

    >>> causal_weights_renormalised(torch.zeros(3, 3))
    tensor([[1.0000, 0.0000, 0.0000],
            [0.5000, 0.5000, 0.0000],
            [0.3333, 0.3333, 0.3333]])
    """
    weights = torch.softmax(scores, dim=-1)
    masked = weights * causal_mask(scores.shape[-1], scores.device)
    return masked / masked.sum(dim=-1, keepdim=True)


def causal_weights_masked(scores: torch.Tensor) -> torch.Tensor:
    """Method 2: set future scores to −∞, then one softmax (e^−∞ = 0).

    >>> causal_weights_masked(torch.zeros(3, 3))
    tensor([[1.0000, 0.0000, 0.0000],
            [0.5000, 0.5000, 0.0000],
            [0.3333, 0.3333, 0.3333]])
    """
    wide = torch.promote_types(scores.dtype, torch.float32)  # float16 and bfloat16 become float32
    future = ~causal_mask(scores.shape[-1], scores.device)
    return torch.softmax(scores.to(wide).masked_fill(future, float("-inf")), dim=-1).to(scores.dtype)


# --8<-- [end:masks]


# --8<-- [start:module]
class CausalAttention(nn.Module):
    """One causal self-attention head for batches ``(batch, tokens, d_in)``.

    The mask for the longest allowed input, ``context_length`` tokens, is made
    once and registered as a buffer: it moves with the module between devices
    and is sliced to the length of each input. Dropout is applied to the
    attention weights in training mode only.

    >>> torch.manual_seed(123)
    <torch._C.Generator object at ...>
    >>> ca = CausalAttention(d_in=3, d_out=2, context_length=6)
    >>> ca(torch.rand(2, 6, 3)).shape
    torch.Size([2, 6, 2])
    """

    allowed: torch.Tensor  # a buffer, registered in __init__: True where a query may look

    def __init__(
        self, d_in: int, d_out: int, context_length: int, dropout: float = 0.0, qkv_bias: bool = False
    ) -> None:
        super().__init__()
        self.d_in = d_in
        self.context_length = context_length
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(float(dropout))
        # True on and below the diagonal: the keys each query may see
        self.register_buffer("allowed", causal_mask(context_length))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.shape[-2]
        queries, keys, values = self.W_query(x), self.W_key(x), self.W_value(x)
        # scores and softmax in float32 for half-precision inputs, as PyTorch computes them
        wide = torch.promote_types(values.dtype, torch.float32)
        queries, keys = queries.to(wide), keys.to(wide)
        scores = queries @ keys.transpose(-2, -1) / math.sqrt(keys.shape[-1])
        scores = scores.masked_fill(~self.allowed[:tokens, :tokens], float("-inf"))
        weights = self.dropout(torch.softmax(scores, dim=-1))
        return (weights @ values.to(wide)).to(values.dtype)


# --8<-- [end:module]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_causal_mask(tokens: object, device: object = None) -> None:
    check_positive_int("tokens", tokens)
    check_device("device", device)


def _check_square_scores(scores: object) -> None:
    scores = check_float_tensor(
        "scores",
        scores,
        shapes={2: "(tokens, tokens)", 3: "(batch, tokens, tokens)", 4: "(batch, heads, tokens, tokens)"},
    )
    if scores.shape[-1] != scores.shape[-2]:
        raise ValueError(f"causal masking needs square scores (tokens, tokens), got {tuple(scores.shape)}")


def _check_init(
    self: object,
    d_in: object,
    d_out: object,
    context_length: object,
    dropout: object = 0.0,
    qkv_bias: object = False,
) -> None:
    for name, value in (("d_in", d_in), ("d_out", d_out), ("context_length", context_length)):
        check_positive_int(name, value)
    check_bool("qkv_bias", qkv_bias)
    check_probability("dropout", dropout)


def _check_forward(self: CausalAttention, x: object) -> None:
    check_module_input("x", x, d_in=self.d_in, like=self.W_query.weight, max_tokens=self.context_length)


causal_mask = checked_by(_check_causal_mask, causal_mask)
causal_weights_renormalised = checked_by(_check_square_scores, causal_weights_renormalised)
causal_weights_masked = checked_by(_check_square_scores, causal_weights_masked)
checked_methods(CausalAttention, __init__=_check_init, forward=_check_forward)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "causal-attention"


def _causal_module(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    ca = CausalAttention(d_in=3, d_out=2, context_length=6).to(device=device, dtype=dtype)
    batch = torch.stack((your_journey(), your_journey()))
    return {"output": {"context": ca(moved(batch, device, dtype)).detach()}}


AGREEMENT = (Example(CHAPTER, "CausalAttention without dropout", _causal_module),)


def _weights_figure() -> Heatmap:
    torch.manual_seed(123)  # as the chapter's example
    ca = CausalAttention(d_in=3, d_out=2, context_length=6)
    x = your_journey()
    with torch.no_grad():
        scores = ca.W_query(x) @ ca.W_key(x).T / math.sqrt(2)
        weights = causal_weights_masked(scores)
    return Heatmap(weights, JOURNEY_TOKENS, hidden=~causal_mask(6))


FIGURES = {"weights": _weights_figure}
