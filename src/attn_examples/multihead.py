"""Multi-head attention: the chapter "multi-head-attention".

Several attention heads look at the same tokens with different projections.
The wrapper runs separate single-head modules and concatenates their outputs;
``MultiHeadAttention`` does the same work in one pass by splitting the
projected features into heads, and mixes the heads with an output projection.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import torch
import torch.nn.functional as F
from torch import nn

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_bool,
    check_module_input,
    check_positive_int,
    check_probability,
    checked_by,
    checked_methods,
)
from attn_examples.causal import CausalAttention, causal_mask
from attn_examples.chapters import Example, Heatmap, Outputs, module_outputs, moved
from attn_examples.self_attention import JOURNEY_TOKENS, attention_weights, your_journey


# --8<-- [start:wrapper]
class MultiHeadAttentionWrapper(nn.Module):
    """``num_heads`` independent ``CausalAttention`` heads, outputs concatenated.

    Each head produces ``d_out`` features, so the output has
    ``num_heads * d_out`` features.

    >>> torch.manual_seed(123)
    <torch._C.Generator object at ...>
    >>> mha = MultiHeadAttentionWrapper(d_in=3, d_out=2, context_length=6, num_heads=2)
    >>> mha(torch.rand(2, 6, 3)).shape
    torch.Size([2, 6, 4])
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        context_length: int,
        num_heads: int,
        dropout: float = 0.0,
        qkv_bias: bool = False,
    ) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            CausalAttention(d_in, d_out, context_length, dropout, qkv_bias) for _ in range(num_heads)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(x) for head in self.heads], dim=-1)


# --8<-- [end:wrapper]


# --8<-- [start:split_heads]
class MultiHeadAttention(nn.Module):
    """Multi-head self-attention in one pass: ``d_out`` features split into ``num_heads`` heads.

    Input ``(batch, tokens, d_in)``, output ``(batch, tokens, d_out)``. With
    ``causal=True`` (the default) a token attends only to itself and earlier
    tokens. ``fused=True`` (the default) computes the heads with PyTorch's
    fused ``scaled_dot_product_attention``; ``fused=False`` spells out the
    same computation with explicit matrix products.

    ``forward(x, allowed_keys)`` also takes a key-padding mask: ``allowed_keys``
    of shape ``(batch, tokens)``, True for real tokens and False for padding,
    which no query attends to. A query left with no key to attend to (padding
    at the start of a causal sequence) gets a zero context vector, as from
    PyTorch's ``scaled_dot_product_attention``, so the output is its
    ``out_proj`` bias (``nn.MultiheadAttention`` does the same with autograd
    on, but its inference fast path returns NaN there).

    >>> torch.manual_seed(123)
    <torch._C.Generator object at ...>
    >>> mha = MultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2)
    >>> mha(torch.rand(2, 6, 3)).shape
    torch.Size([2, 6, 4])
    """

    allowed: torch.Tensor  # a buffer, registered in __init__: True where a query may look

    def __init__(
        self,
        d_in: int,
        d_out: int,
        context_length: int,
        num_heads: int,
        dropout: float = 0.0,
        qkv_bias: bool = False,
        causal: bool = True,
        fused: bool = True,
    ) -> None:
        super().__init__()
        self.d_in, self.d_out, self.num_heads = d_in, d_out, num_heads
        self.head_dim = d_out // num_heads
        self.context_length, self.causal, self.fused = context_length, causal, fused
        self.dropout_p = float(dropout)
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.register_buffer("allowed", causal_mask(context_length), persistent=False)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        # (batch, tokens, d_out) -> (batch, heads, tokens, head_dim)
        batch, tokens, _ = t.shape
        return t.view(batch, tokens, self.num_heads, self.head_dim).transpose(1, 2)

    def _allowed(self, x: torch.Tensor, allowed_keys: torch.Tensor | None) -> torch.Tensor | None:
        """True where a query may attend to a key: the causal mask and the keys allowed, or None for all."""
        tokens = x.shape[1]
        allowed = self.allowed[:tokens, :tokens] if self.causal else None
        if allowed_keys is None:
            return allowed
        keys = allowed_keys[:, None, None, :]  # (batch, 1, 1, tokens): for every head and every query
        return keys if allowed is None else allowed & keys

    def forward(self, x: torch.Tensor, allowed_keys: torch.Tensor | None = None) -> torch.Tensor:
        allowed = self._allowed(x, allowed_keys)
        batch, tokens, _ = x.shape
        queries = self._split_heads(self.W_query(x))
        keys = self._split_heads(self.W_key(x))
        values = self._split_heads(self.W_value(x))
        dropout_p = self.dropout_p if self.training else 0.0
        if self.fused and allowed_keys is None:
            context = F.scaled_dot_product_attention(queries, keys, values, dropout_p=dropout_p, is_causal=self.causal)
        elif self.fused:
            context = F.scaled_dot_product_attention(queries, keys, values, attn_mask=allowed, dropout_p=dropout_p)
        else:
            # scores and softmax in float32 for half-precision inputs, as PyTorch computes them
            wide = torch.promote_types(queries.dtype, torch.float32)  # float16 and bfloat16 become float32
            scores = queries.to(wide) @ keys.to(wide).transpose(-2, -1) / math.sqrt(self.head_dim)
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            if allowed is not None:  # a query with no key allowed: weights of 0, not the NaN of 0/0
                weights = weights.masked_fill(~allowed.any(dim=-1, keepdim=True), 0.0)
            weights = F.dropout(weights, p=dropout_p)
            context = (weights @ values.to(wide)).to(values.dtype)
        # (batch, heads, tokens, head_dim) -> (batch, tokens, d_out): heads side by side
        context = context.transpose(1, 2).reshape(batch, tokens, self.d_out)
        return self.out_proj(context)


# --8<-- [end:split_heads]


# --8<-- [start:to_torch]
def to_torch_multihead(mha: MultiHeadAttention) -> nn.MultiheadAttention:
    """A ``torch.nn.MultiheadAttention`` (``batch_first``) holding ``mha``'s weights.

    PyTorch packs the three input projections into one ``in_proj_weight`` of
    shape ``(3 * d_out, d_in)``, in the order query, key, value. It needs
    ``d_in == d_out`` (its queries and outputs share one size).

    >>> mha = MultiHeadAttention(4, 4, context_length=5, num_heads=2).eval()
    >>> torch_mha = to_torch_multihead(mha).eval()
    >>> x = torch.rand(1, 5, 4)
    >>> mask = torch.ones(5, 5, dtype=torch.bool).triu(1)
    >>> theirs, _ = torch_mha(x, x, x, attn_mask=mask, need_weights=False)
    >>> torch.allclose(mha(x), theirs, atol=1e-6)
    True
    """
    weight = mha.W_query.weight
    torch_mha = nn.MultiheadAttention(
        mha.d_out,
        mha.num_heads,
        dropout=mha.dropout_p,
        bias=True,
        batch_first=True,
        device=weight.device,
        dtype=weight.dtype,
    )
    projections = (mha.W_query, mha.W_key, mha.W_value)
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(torch.cat([p.weight for p in projections]))
        biases: list[torch.Tensor] = [
            p.bias if p.bias is not None else torch.zeros_like(p.weight[:, 0]) for p in projections
        ]
        torch_mha.in_proj_bias.copy_(torch.cat(biases))
        torch_mha.out_proj.weight.copy_(mha.out_proj.weight)
        torch_mha.out_proj.bias.copy_(mha.out_proj.bias)
    return torch_mha


# --8<-- [end:to_torch]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_wrapper_init(
    self: object,
    d_in: object,
    d_out: object,
    context_length: object,
    num_heads: object,
    dropout: object = 0.0,
    qkv_bias: object = False,
) -> None:
    check_positive_int("num_heads", num_heads)  # each CausalAttention head checks the rest


def _check_init(
    self: object,
    d_in: object,
    d_out: object,
    context_length: object,
    num_heads: object,
    dropout: object = 0.0,
    qkv_bias: object = False,
    causal: object = True,
    fused: object = True,
) -> None:
    check_positive_int("d_in", d_in)
    d_out = check_positive_int("d_out", d_out)
    check_positive_int("context_length", context_length)
    num_heads = check_positive_int("num_heads", num_heads)
    for name, flag in (("qkv_bias", qkv_bias), ("causal", causal), ("fused", fused)):
        check_bool(name, flag)
    if d_out % num_heads != 0:
        raise ValueError(f"d_out must be divisible by num_heads, got d_out={d_out} and num_heads={num_heads}")
    check_probability("dropout", dropout)


def _check_forward(self: MultiHeadAttention, x: object, allowed_keys: object = None) -> None:
    x = check_module_input("x", x, d_in=self.d_in, like=self.W_query.weight, max_tokens=self.context_length)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, tokens, d_in), got {tuple(x.shape)}")
    if allowed_keys is None:
        return
    if not isinstance(allowed_keys, torch.Tensor) or allowed_keys.dtype != torch.bool:
        raise TypeError("allowed_keys must be a boolean tensor of shape (batch, tokens), False for padding")
    if allowed_keys.shape != x.shape[:2]:
        raise ValueError(
            f"allowed_keys must have shape (batch, tokens) = {tuple(x.shape[:2])}, got {tuple(allowed_keys.shape)}"
        )
    if allowed_keys.device != x.device:
        raise ValueError(f"allowed_keys must be on x's device, {x.device}, got {allowed_keys.device}")


def _check_to_torch(mha: object) -> None:
    if not isinstance(mha, MultiHeadAttention):
        raise TypeError(f"expected a MultiHeadAttention, got {type(mha).__name__}")
    if mha.d_in != mha.d_out:
        raise ValueError(f"nn.MultiheadAttention needs d_in == d_out, got d_in={mha.d_in} and d_out={mha.d_out}")


checked_methods(MultiHeadAttentionWrapper, __init__=_check_wrapper_init)
checked_methods(MultiHeadAttention, __init__=_check_init, forward=_check_forward)
to_torch_multihead = checked_by(_check_to_torch, to_torch_multihead)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "multi-head-attention"


def _journey_batch() -> torch.Tensor:
    """The page's batch: "Your journey starts with one step", twice."""
    return torch.stack((your_journey(), your_journey()))


def _wrapper(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    wrapper = MultiHeadAttentionWrapper(d_in=3, d_out=2, context_length=6, num_heads=2)
    wrapper.to(device=device, dtype=dtype)
    return {"output": {"context": wrapper(moved(_journey_batch(), device, dtype)).detach()}}


def _multihead(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    mha = MultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2)
    grad_out = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(0))
    mha.to(device=device, dtype=dtype)
    return module_outputs(mha, [moved(_journey_batch(), device, dtype)], moved(grad_out, device, dtype))


AGREEMENT = (
    Example(CHAPTER, "MultiHeadAttentionWrapper, 2 heads", _wrapper),
    Example(
        CHAPTER,
        "MultiHeadAttention, 2 heads (fused SDPA)",
        _multihead,
        note="backward through the device's own SDPA kernel",
    ),
)


def _heads_figure() -> Heatmap:
    torch.manual_seed(123)  # as the chapter's example
    mha = MultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2)
    x = your_journey()[None]
    with torch.no_grad():
        q, k = mha._split_heads(mha.W_query(x)), mha._split_heads(mha.W_key(x))
        weights = attention_weights(q, k, mask=causal_mask(6))[0]
    return Heatmap(weights, JOURNEY_TOKENS, hidden=~causal_mask(6))


FIGURES = {"heads": _heads_figure}
