"""Positional encodings: how attention learns the order of its tokens.

Self-attention reads its input as a set: permute the tokens and its outputs
are permuted the same way, nothing else changes. A model knows where a token
stands only from positions added to the tokens (a fixed sinusoidal table, or a
learned one as in GPT-2) or built into the scores: rotary embeddings (RoPE)
rotate queries and keys by an angle proportional to their position, so that a
score depends on the distance between two tokens alone; ALiBi adds to each
score a penalty proportional to that distance.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_bool,
    check_even_features,
    check_float_tensor,
    check_module_input,
    check_positive_int,
    check_probability,
    check_rope_base,
    check_same_device_and_dtype,
    check_start,
    checked_by,
    checked_methods,
)
from attn_examples.chapters import Example, Heatmap, Outputs, module_outputs, moved
from attn_examples.self_attention import your_journey

POSITIONS = ("sinusoidal", "learned", "rope", "alibi")  # what PositionalMultiHeadAttention takes, or None
PAIRINGS = ("adjacent", "halves")  # how apply_rope pairs the features it rotates


# --8<-- [start:equivariance]
def equivariance_gap(attention: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, order: torch.Tensor) -> float:
    """The largest ``|attention(x[:, order]) − attention(x)[:, order]|``: 0, to rounding, when ``attention``
    cannot tell one order of the tokens of ``x`` (``(batch, tokens, d)``) from another.

    >>> def attend(x):
    ...     return F.scaled_dot_product_attention(x, x, x)
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> x, order = torch.rand(1, 5, 4), torch.tensor([4, 2, 0, 1, 3])
    >>> equivariance_gap(attend, x, order) < 1e-6
    True
    >>> equivariance_gap(lambda x: attend(x + sinusoidal_positions(5, 4)), x, order) > 1e-2
    True
    """
    with torch.no_grad():
        return (attention(x[:, order]) - attention(x)[:, order]).abs().max().item()


# --8<-- [end:equivariance]


# --8<-- [start:sinusoidal]
def sinusoidal_positions(
    num_positions: int, d_model: int, base: float = 10000.0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The Transformer's table ``(num_positions, d_model)``: feature pair ``i`` of position ``p`` holds
    ``sin(p·ω_i)`` and ``cos(p·ω_i)``, with ``ω_i = base^(−2i/d_model)`` (computed in float64). An odd
    ``d_model`` ends on a sine alone.

    >>> sinusoidal_positions(3, 4)
    tensor([[ 0.0000,  1.0000,  0.0000,  1.0000],
            [ 0.8415,  0.5403,  0.0100,  0.9999],
            [ 0.9093, -0.4161,  0.0200,  0.9998]])
    """
    frequencies = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # ω_i, (d_model / 2,)
    angles = torch.arange(num_positions, dtype=torch.float64)[:, None] * frequencies  # (positions, d_model / 2)
    table = torch.stack((angles.sin(), angles.cos()), dim=-1)  # each pair side by side: sin on even features
    return table.flatten(-2)[:, :d_model].to(dtype)


def sinusoidal_shift(offset: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The ``(d_model, d_model)`` matrix ``M`` that moves every row of the table ``offset`` places:
    ``table[p + offset] = M @ table[p]`` for every ``p``. One 2×2 rotation per feature pair, the same
    for every position: a linear layer can learn to look ``offset`` tokens back.

    >>> table = sinusoidal_positions(10, 6, dtype=torch.float64)
    >>> torch.allclose(table[:7] @ sinusoidal_shift(3, 6).T, table[3:])
    True
    """
    frequencies = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    cos, sin = (offset * frequencies).cos(), (offset * frequencies).sin()
    # (sin a, cos a) → (sin(a + b), cos(a + b)) = (sin a cos b + cos a sin b, cos a cos b − sin a sin b)
    blocks = torch.stack((torch.stack((cos, sin), -1), torch.stack((-sin, cos), -1)), -2)  # (d_model / 2, 2, 2)
    return torch.block_diag(*blocks)


class SinusoidalPositions(nn.Module):
    """Adds the sinusoidal table to token embeddings ``(batch, tokens, d_model)``; positions start at ``start``.

    Nothing is learned, and the table has no end: any position can be computed.
    """

    def __init__(self, d_model: int, base: float = 10000.0) -> None:
        super().__init__()
        self.d_model, self.base = d_model, base

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        table = sinusoidal_positions(start + x.shape[-2], self.d_model, self.base, dtype=x.dtype)
        return x + table[start:].to(x.device)


# --8<-- [end:sinusoidal]


# --8<-- [start:learned]
class LearnedPositions(nn.Module):
    """A trainable vector per position, added to token embeddings ``(batch, tokens, d_model)`` (GPT-2's
    ``wpe``). The table has ``context_length`` rows: a position past it has no vector.

    >>> positions = LearnedPositions(context_length=4, d_model=2)
    >>> positions(torch.zeros(1, 3, 2)).shape
    torch.Size([1, 3, 2])
    """

    def __init__(self, context_length: int, d_model: int) -> None:
        super().__init__()
        self.context_length = context_length
        self.table = nn.Embedding(context_length, d_model)
        nn.init.normal_(self.table.weight, std=0.02)  # as GPT-2 starts its table: small next to token embeddings

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        positions = torch.arange(start, start + x.shape[-2], device=x.device)
        return x + self.table(positions)


# --8<-- [end:learned]


# --8<-- [start:rope]
def rope_angles(positions: torch.Tensor, head_dim: int, base: float = 10000.0) -> torch.Tensor:
    """The angle ``m·θ_i`` of each position ``m`` and feature pair ``i``: ``(tokens, head_dim / 2)``, float64 on
    the CPU (MPS has no float64), with ``θ_i = base^(−2i/head_dim)``: the first pair turns fastest, the last slowest."""
    frequencies = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    return positions.to("cpu", torch.float64)[:, None] * frequencies


def apply_rope(
    x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0, pairing: str = "adjacent"
) -> torch.Tensor:
    """Rotate the feature pairs of queries or keys ``x`` ``(…, tokens, head_dim)``: pair ``i`` of the token at
    position ``m`` turns by ``m·θ_i``. ``pairing="adjacent"`` pairs features 2i and 2i+1 (the RoFormer
    paper); ``"halves"`` pairs i and i + head_dim/2 (GPT-NeoX and Llama code). Half-precision inputs are
    rotated in float32.

    >>> q = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    >>> apply_rope(q, torch.tensor([0, 1]))  # one pair, θ_0 = 1: the second token turns by 1 radian
    tensor([[1.0000, 0.0000],
            [0.5403, 0.8415]])
    """
    dtype, wide = x.dtype, torch.promote_types(x.dtype, torch.float32)  # float16 and bfloat16 turn in float32
    angles = rope_angles(positions, x.shape[-1], base)
    cos, sin = angles.cos().to(x.device, wide), angles.sin().to(x.device, wide)
    if pairing == "adjacent":
        first, second = x[..., 0::2].to(wide), x[..., 1::2].to(wide)
    else:
        first, second = x.to(wide).chunk(2, dim=-1)
    # (a, b) turned by φ: (a cos φ − b sin φ, a sin φ + b cos φ)
    turned = (first * cos - second * sin, first * sin + second * cos)
    if pairing == "adjacent":
        return torch.stack(turned, dim=-1).flatten(-2).to(dtype)
    return torch.cat(turned, dim=-1).to(dtype)


def halves_to_adjacent(head_dim: int) -> torch.Tensor:
    """The order of features that turns the "halves" layout into the "adjacent" one: for every ``x``,
    ``apply_rope(x[..., order], pairing="adjacent") == apply_rope(x, pairing="halves")[..., order]``.
    Permuting the output rows of a "halves" checkpoint's ``W_query`` and ``W_key`` (per head) this way
    makes it an "adjacent" one; ``order.argsort()`` goes back.

    >>> halves_to_adjacent(6)
    tensor([0, 3, 1, 4, 2, 5])
    """
    half = torch.arange(head_dim // 2)
    return torch.stack((half, half + head_dim // 2), dim=-1).flatten()


# --8<-- [end:rope]


# --8<-- [start:alibi]
def alibi_slopes(num_heads: int) -> torch.Tensor:
    """ALiBi's slope of each head. For ``n`` heads, a power of two: ``2^(−8/n)``, its square, … up to
    ``2^(−8)``. Otherwise the slopes of the power of two ``p`` just below ``n``, then every other slope of
    ``2p`` heads, until there are ``n``.

    >>> alibi_slopes(4)
    tensor([0.2500, 0.0625, 0.0156, 0.0039])
    >>> alibi_slopes(6)
    tensor([0.2500, 0.0625, 0.0156, 0.0039, 0.5000, 0.1250])
    """

    def geometric(n: int) -> list[float]:
        return [2 ** (-8 * (i + 1) / n) for i in range(n)]

    below = 2 ** math.floor(math.log2(num_heads))
    slopes = geometric(below) + geometric(2 * below)[0::2][: num_heads - below]
    return torch.tensor(slopes)


def alibi_bias(num_heads: int, tokens: int) -> torch.Tensor:
    """The ``(num_heads, tokens, tokens)`` biases ALiBi adds to causal scores: ``−slope_h · (i − j)`` for query
    ``i`` and key ``j ≤ i`` (0 on the diagonal, more negative the farther back); the causal mask hides ``j > i``.

    >>> alibi_bias(1, 3)
    tensor([[[ 0.0000,  0.0039,  0.0078],
             [-0.0039,  0.0000,  0.0039],
             [-0.0078, -0.0039,  0.0000]]])
    """
    distance = torch.arange(tokens)[None, :] - torch.arange(tokens)[:, None]  # j − i: negative for past keys
    return alibi_slopes(num_heads)[:, None, None] * distance


# --8<-- [end:alibi]


# --8<-- [start:positional_attention]
class PositionalMultiHeadAttention(nn.Module):
    """Causal multi-head self-attention that knows positions in one of four ways, or none:

    - ``"sinusoidal"`` or ``"learned"``: a table added to the input before the projections;
    - ``"rope"``: queries and keys rotated by their positions (``apply_rope``, adjacent pairs);
    - ``"alibi"``: ``alibi_bias`` added to the scores;
    - ``None``: the same as the chapter "multi-head-attention"'s ``MultiHeadAttention`` (same weights).

    ``forward(x, start)`` numbers the tokens of ``x`` ``(batch, tokens, d_in)`` from ``start``: a model that
    generates one token at a time (the KV cache) passes how many came before.

    >>> torch.manual_seed(123)
    <torch._C.Generator object at ...>
    >>> rope = PositionalMultiHeadAttention(d_in=4, d_out=4, context_length=6, num_heads=2, positions="rope")
    >>> rope(torch.rand(2, 6, 4)).shape
    torch.Size([2, 6, 4])
    """

    allowed: torch.Tensor  # buffers, registered in __init__: True where a query may look;
    alibi: torch.Tensor  # and, with positions="alibi", the biases of every head

    def __init__(
        self,
        d_in: int,
        d_out: int,
        context_length: int,
        num_heads: int,
        positions: str | None = None,
        dropout: float = 0.0,
        qkv_bias: bool = False,
        base: float = 10000.0,
    ) -> None:
        super().__init__()
        self.d_in, self.d_out, self.num_heads = d_in, d_out, num_heads
        self.head_dim = d_out // num_heads
        self.context_length, self.positions, self.base = context_length, positions, base
        self.dropout_p = float(dropout)
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.register_buffer("allowed", torch.ones(context_length, context_length).tril().bool(), persistent=False)
        self.table: SinusoidalPositions | LearnedPositions | None = None
        if positions == "sinusoidal":
            self.table = SinusoidalPositions(d_in, base)
        elif positions == "learned":
            self.table = LearnedPositions(context_length, d_in)
        elif positions == "alibi":
            self.register_buffer("alibi", alibi_bias(num_heads, context_length), persistent=False)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        # (batch, tokens, d_out) -> (batch, heads, tokens, head_dim)
        batch, tokens, _ = t.shape
        return t.view(batch, tokens, self.num_heads, self.head_dim).transpose(1, 2)

    def heads(self, x: torch.Tensor, start: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The queries, keys and values of the tokens ``x``, numbered from ``start``, with their positions:
        ``(batch, heads, tokens, head_dim)`` each."""
        if self.table is not None:
            x = self.table(x, start)
        queries = self._split_heads(self.W_query(x))
        keys = self._split_heads(self.W_key(x))
        values = self._split_heads(self.W_value(x))
        if self.positions == "rope":
            where = torch.arange(start, start + x.shape[1], device=x.device)
            queries, keys = apply_rope(queries, where, self.base), apply_rope(keys, where, self.base)
        return queries, keys, values

    def attend(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Causal attention of the ``new`` ``queries`` ``(batch, heads, new, head_dim)``, the last ``new`` of the
        ``total`` tokens whose ``keys`` and ``values`` ``(batch, heads, total, head_dim)`` are given, then the
        output projection: ``(batch, new, d_out)``. ``new < total`` when earlier keys come from a KV cache.
        Fewer key-value heads than query heads are shared: each serves as many consecutive query heads."""
        batch, _, new, _ = queries.shape
        total = keys.shape[2]
        if keys.shape[1] != self.num_heads:  # grouped-query attention (its own chapter)
            group = self.num_heads // keys.shape[1]
            keys, values = keys.repeat_interleave(group, dim=1), values.repeat_interleave(group, dim=1)
        dropout_p = self.dropout_p if self.training else 0.0
        allowed = self.allowed[total - new : total, :total]  # the new queries' rows of the causal mask
        if self.positions == "alibi":  # biases of distances alone: row i of the matrix, whatever the start
            bias = self.alibi[:, total - new : total, :total].masked_fill(~allowed, float("-inf")).to(queries.dtype)
            context = F.scaled_dot_product_attention(queries, keys, values, attn_mask=bias, dropout_p=dropout_p)
        elif new == total:
            context = F.scaled_dot_product_attention(queries, keys, values, dropout_p=dropout_p, is_causal=True)
        else:  # not is_causal, which aligns the mask to the first key, not to the last
            context = F.scaled_dot_product_attention(queries, keys, values, attn_mask=allowed, dropout_p=dropout_p)
        # (batch, heads, new, head_dim) -> (batch, new, d_out): heads side by side
        context = context.transpose(1, 2).reshape(batch, new, self.d_out)
        return self.out_proj(context)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        return self.attend(*self.heads(x, start))


# --8<-- [end:positional_attention]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_equivariance(attention: object, x: object, order: object) -> None:
    if not callable(attention):
        raise TypeError(f"attention must be a callable such as a module, got {type(attention).__name__}")
    x = check_float_tensor("x", x, shapes={3: "(batch, tokens, d)"})
    tokens = x.shape[1]
    if not isinstance(order, torch.Tensor) or order.dtype != torch.int64 or order.dim() != 1:
        raise TypeError(f"order must be a 1-D int64 tensor holding a permutation of range({tokens})")
    if not torch.equal(order.sort().values, torch.arange(tokens, device=order.device)):
        raise ValueError(f"order must be a permutation of range({tokens}), got {order.tolist()}")


def _check_table(num_positions: object, d_model: object, base: object = 10000.0, dtype: object = None) -> None:
    check_positive_int("num_positions", num_positions)
    check_positive_int("d_model", d_model)
    check_rope_base(base)
    if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")


def _check_shift(offset: object, d_model: object, base: object = 10000.0) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError(f"offset must be an integer number of positions, got {type(offset).__name__}")
    check_even_features("d_model", d_model)
    check_rope_base(base)


def _check_sinusoidal_init(self: object, d_model: object, base: object = 10000.0) -> None:
    check_positive_int("d_model", d_model)
    check_rope_base(base)


def _check_table_input(self: SinusoidalPositions | LearnedPositions, x: object, start: object = 0) -> None:
    d_model = self.d_model if isinstance(self, SinusoidalPositions) else self.table.embedding_dim
    x = check_float_tensor("x", x, shapes={2: "(tokens, d_model)", 3: "(batch, tokens, d_model)"})
    if x.shape[-1] != d_model:
        raise ValueError(f"x must have d_model={d_model} features in its last dimension, got shape {tuple(x.shape)}")
    start = check_start(start)
    if isinstance(self, LearnedPositions):
        weight = self.table.weight
        if x.dtype != weight.dtype:
            raise TypeError(f"x has dtype {x.dtype} but the table is {weight.dtype}; convert one with .to()")
        if x.device != weight.device:
            raise ValueError(f"x is on {x.device} but the table is on {weight.device}; move one with .to()")
        if start + x.shape[-2] > self.context_length:
            raise ValueError(
                f"positions {start} to {start + x.shape[-2] - 1} run past the learned table's {self.context_length} "
                "rows (context_length): a learned table has no vector for a position it was not built with"
            )


def _check_learned_init(self: object, context_length: object, d_model: object) -> None:
    check_positive_int("context_length", context_length)
    check_positive_int("d_model", d_model)


def _check_rope(x: object, positions: object, base: object = 10000.0, pairing: object = "adjacent") -> None:
    x = check_float_tensor(
        "x", x, shapes={2: "(tokens, head_dim)", 3: "(…, tokens, head_dim)", 4: "(…, tokens, head_dim)"}
    )
    check_even_features("head_dim (x's last dimension)", x.shape[-1])
    if not isinstance(positions, torch.Tensor) or positions.is_floating_point() or positions.dtype == torch.bool:
        raise TypeError("positions must be an integer tensor of shape (tokens,), e.g. torch.arange(tokens)")
    if positions.shape != (x.shape[-2],):
        raise ValueError(f"positions must have shape (tokens,) = ({x.shape[-2]},), got {tuple(positions.shape)}")
    if positions.device != x.device:
        raise ValueError(f"positions must be on x's device, {x.device}, got {positions.device}")
    check_rope_base(base)
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")


def _check_halves(head_dim: object) -> None:
    check_even_features("head_dim", head_dim)


def _check_alibi(num_heads: object, tokens: object = 1) -> None:
    check_positive_int("num_heads", num_heads)
    check_positive_int("tokens", tokens)


def _check_positional_init(
    self: object,
    d_in: object,
    d_out: object,
    context_length: object,
    num_heads: object,
    positions: object = None,
    dropout: object = 0.0,
    qkv_bias: object = False,
    base: object = 10000.0,
) -> None:
    d_in = check_positive_int("d_in", d_in)
    d_out = check_positive_int("d_out", d_out)
    check_positive_int("context_length", context_length)
    num_heads = check_positive_int("num_heads", num_heads)
    if d_out % num_heads != 0:
        raise ValueError(f"d_out must be divisible by num_heads, got d_out={d_out} and num_heads={num_heads}")
    if positions is not None and positions not in POSITIONS:
        raise ValueError(f"positions must be one of {POSITIONS} or None, got {positions!r}")
    check_probability("dropout", dropout)
    check_bool("qkv_bias", qkv_bias)
    check_rope_base(base)
    if positions == "rope":
        check_even_features("head_dim (d_out / num_heads), for rope", d_out // num_heads)


def _check_positional_forward(self: PositionalMultiHeadAttention, x: object, start: object = 0) -> None:
    x = check_module_input("x", x, d_in=self.d_in, like=self.W_query.weight)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, tokens, d_in), got {tuple(x.shape)}")
    start = check_start(start)
    if start + x.shape[1] > self.context_length:
        raise ValueError(
            f"positions {start} to {start + x.shape[1] - 1} run past the module's context_length, "
            f"{self.context_length}; build it with a larger context_length or shorten the input"
        )


def _check_attend(self: PositionalMultiHeadAttention, queries: object, keys: object, values: object) -> None:
    kv_heads = self.W_key.out_features // self.head_dim
    wanted = {
        "queries": f"(batch, {self.num_heads}, new, {self.head_dim})",
        "keys": f"(batch, {kv_heads}, total, {self.head_dim})",
        "values": f"(batch, {kv_heads}, total, {self.head_dim})",
    }
    checked = {}
    for name, t in (("queries", queries), ("keys", keys), ("values", values)):
        t = check_float_tensor(name, t, shapes={4: wanted[name]})
        heads = self.num_heads if name == "queries" else kv_heads
        if t.shape[1] != heads or t.shape[3] != self.head_dim:
            raise ValueError(f"{name} must have shape {wanted[name]}, got {tuple(t.shape)}")
        check_same_device_and_dtype(**{name: t, "the module's weights": self.W_query.weight})
        checked[name] = t
    q, k, v = checked["queries"], checked["keys"], checked["values"]
    if k.shape != v.shape or k.shape[0] != q.shape[0]:
        raise ValueError(
            f"keys and values must both have shape {wanted['keys']} with the queries' batch, {q.shape[0]}, "
            f"got {tuple(k.shape)} and {tuple(v.shape)}"
        )
    if not q.shape[2] <= k.shape[2] <= self.context_length:
        raise ValueError(
            f"the queries must be the last of the keys' tokens, and those at most context_length="
            f"{self.context_length}: got {q.shape[2]} queries and {k.shape[2]} keys"
        )


equivariance_gap = checked_by(_check_equivariance, equivariance_gap)
sinusoidal_positions = checked_by(_check_table, sinusoidal_positions)
sinusoidal_shift = checked_by(_check_shift, sinusoidal_shift)
apply_rope = checked_by(_check_rope, apply_rope)
halves_to_adjacent = checked_by(_check_halves, halves_to_adjacent)
alibi_slopes = checked_by(_check_alibi, alibi_slopes)
alibi_bias = checked_by(_check_alibi, alibi_bias)
checked_methods(SinusoidalPositions, __init__=_check_sinusoidal_init, forward=_check_table_input)
checked_methods(LearnedPositions, __init__=_check_learned_init, forward=_check_table_input)
checked_methods(
    PositionalMultiHeadAttention,
    __init__=_check_positional_init,
    heads=_check_positional_forward,
    attend=_check_attend,
    forward=_check_positional_forward,
)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "positional-encoding"


def _rope_on_journey(device: torch.device, dtype: torch.dtype) -> Outputs:
    x = moved(your_journey()[:, :2], device, dtype)  # two features: one pair, turned by 1 radian a position
    return {"output": {"rotated": apply_rope(x, torch.arange(6, device=device))}}


def _positional(positions: str) -> Callable[[torch.device, torch.dtype], Outputs]:
    def run(device: torch.device, dtype: torch.dtype) -> Outputs:
        torch.manual_seed(123)  # as the page's example
        mha = PositionalMultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2, positions=positions)
        grad_out = torch.randn(1, 6, 4, generator=torch.Generator().manual_seed(0))
        mha.to(device=device, dtype=dtype)
        return module_outputs(mha, [moved(your_journey()[None], device, dtype)], moved(grad_out, device, dtype))

    return run


AGREEMENT = (
    Example(CHAPTER, 'apply_rope on two features of "Your journey starts with one step"', _rope_on_journey),
    Example(CHAPTER, "PositionalMultiHeadAttention, RoPE, 2 heads", _positional("rope")),
    Example(CHAPTER, "PositionalMultiHeadAttention, ALiBi, 2 heads", _positional("alibi")),
)


def _sinusoidal_figure() -> Heatmap:
    table = sinusoidal_positions(16, 16)
    return Heatmap(table, [str(p) for p in range(16)], [str(i) for i in range(16)], signed=True, annotate=False)


def _rope_scores_figure() -> Heatmap:
    vector = torch.ones(16)  # the same query and key at every position: what is left is the positions
    rotated = apply_rope(vector.expand(12, 16), torch.arange(12))
    labels = [str(p) for p in range(12)]
    return Heatmap(rotated @ rotated.T / 16, labels, signed=True, annotate=False)


FIGURES = {"sinusoidal": _sinusoidal_figure, "rope-scores": _rope_scores_figure}
