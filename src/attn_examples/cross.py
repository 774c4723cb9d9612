"""Cross-attention: the chapter "cross-attention".

Queries come from one sequence and keys and values from another, which may
have a different length and even a different embedding size. This is how a
decoder reads the encoder's output in an encoder–decoder Transformer.
"""

from __future__ import annotations

# --8<-- [start:imports]
import torch
from torch import nn

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import check_bool, check_module_input, check_positive_int, checked_methods
from attn_examples.chapters import Example, Heatmap, Outputs, moved, positions
from attn_examples.self_attention import SENTENCE, attention_weights, embed_sentence, scaled_dot_product_attention


# --8<-- [start:module]
class CrossAttention(nn.Module):
    """Attention of ``x_1``'s tokens (queries) over ``x_2``'s tokens (keys and values).

    ``x_1`` has shape ``(batch, tokens_q, d_in)`` and ``x_2``
    ``(batch, tokens_k, d_in_kv)``, with ``d_in_kv = d_in`` unless given. The
    output has one row per token of ``x_1``: ``(batch, tokens_q, d_v)``.

    >>> torch.manual_seed(123)
    <torch._C.Generator object at ...>
    >>> cross = CrossAttention(d_in=3, d_out=2, d_v=4)
    >>> cross(torch.rand(1, 6, 3), torch.rand(1, 8, 3)).shape
    torch.Size([1, 6, 4])
    """

    def __init__(
        self, d_in: int, d_out: int, d_v: int | None = None, d_in_kv: int | None = None, qkv_bias: bool = False
    ) -> None:
        super().__init__()
        d_v = d_out if d_v is None else d_v
        d_in_kv = d_in if d_in_kv is None else d_in_kv
        self.d_in, self.d_in_kv = d_in, d_in_kv
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in_kv, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in_kv, d_v, bias=qkv_bias)

    def forward(self, x_1: torch.Tensor, x_2: torch.Tensor) -> torch.Tensor:
        queries = self.W_query(x_1)  # one query per token of x_1
        keys = self.W_key(x_2)  # keys and values from x_2
        values = self.W_value(x_2)
        return scaled_dot_product_attention(queries, keys, values)


# --8<-- [end:module]


# The module checks its input first (attn_examples._checks.checked_methods); the listing above, which
# the page shows, holds the computation alone.
def _check_init(
    self: CrossAttention,
    d_in: object,
    d_out: object,
    d_v: object = None,
    d_in_kv: object = None,
    qkv_bias: object = False,
) -> None:
    d_v = d_out if d_v is None else d_v
    d_in_kv = d_in if d_in_kv is None else d_in_kv
    for name, value in (("d_in", d_in), ("d_out", d_out), ("d_v", d_v), ("d_in_kv", d_in_kv)):
        check_positive_int(name, value)
    check_bool("qkv_bias", qkv_bias)


def _check_forward(self: CrossAttention, x_1: object, x_2: object) -> None:
    x_1 = check_module_input("x_1", x_1, d_in=self.d_in, like=self.W_query.weight)
    x_2 = check_module_input("x_2", x_2, d_in=self.d_in_kv, like=self.W_key.weight)
    if x_1.dim() != x_2.dim() or x_1.shape[:-2] != x_2.shape[:-2]:
        raise ValueError(f"x_1 and x_2 must have the same batch shape, got {tuple(x_1.shape)} and {tuple(x_2.shape)}")


checked_methods(CrossAttention, __init__=_check_init, forward=_check_forward)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "cross-attention"


def _cross(device: torch.device, dtype: torch.dtype) -> Outputs:
    x_1 = embed_sentence()[None]  # 6 tokens
    torch.manual_seed(123)
    cross = CrossAttention(d_in=3, d_out=2, d_v=4)
    x_2 = torch.rand(1, 8, 3)  # 8 tokens
    cross.to(device=device, dtype=dtype)
    return {"output": {"context": cross(moved(x_1, device, dtype), moved(x_2, device, dtype)).detach()}}


AGREEMENT = (Example(CHAPTER, "CrossAttention, 6 query tokens over 8 key tokens", _cross),)


def _weights_figure() -> Heatmap:
    x_1 = embed_sentence()[None]  # as the chapter's example
    torch.manual_seed(123)
    module = CrossAttention(d_in=3, d_out=2, d_v=4)
    x_2 = torch.rand(1, 8, 3)
    with torch.no_grad():
        weights = attention_weights(module.W_query(x_1), module.W_key(x_2))[0]
    return Heatmap(weights, SENTENCE.replace(",", "").split(), positions(8))


FIGURES = {"weights": _weights_figure}
