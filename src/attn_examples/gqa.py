"""Grouped-query and latent attention: smaller KV caches by sharing or compressing keys and values.

Multi-head attention gives every query head its own keys and values, and a KV cache stores them all.
Grouped-query attention (GQA) lets groups of query heads share one key-value head: ``num_kv_groups``
key-value heads for ``num_heads`` query heads (``num_kv_groups = num_heads`` is multi-head attention,
``1`` is multi-query attention, MQA). Multi-head latent attention (MLA, DeepSeek-V2) caches one small
latent vector per token instead, from which every head's keys and values are projected back up, and
a small key shared by all heads that carries the positions (RoPE).
"""

from __future__ import annotations

# --8<-- [start:imports]
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# --8<-- [end:imports]
# isort: split
from collections.abc import Callable

from attn_examples._checks import (
    check_even_features,
    check_float_dtype,
    check_float_tensor,
    check_module_input,
    check_positive_int,
    check_rope_base,
    check_same_device_and_dtype,
    check_start,
    checked_methods,
)
from attn_examples.chapters import Example, Lines, Outputs, module_outputs, moved
from attn_examples.positions import PositionalMultiHeadAttention, apply_rope
from attn_examples.self_attention import your_journey


# --8<-- [start:grouped]
class GroupedQueryAttention(PositionalMultiHeadAttention):
    """Causal attention whose ``num_heads`` query heads share ``num_kv_groups`` key-value heads, each serving
    ``num_heads // num_kv_groups`` consecutive query heads: ``num_kv_groups = num_heads`` is multi-head
    attention (with the same weights as ``PositionalMultiHeadAttention`` from the same seed), ``1`` is
    multi-query attention. ``positions`` as in ``PositionalMultiHeadAttention``; ``heads(x, start)`` gives
    ``num_kv_groups`` heads of keys and values, which is what a KV cache stores.

    >>> gqa = GroupedQueryAttention(d_in=8, d_out=8, context_length=4, num_heads=4, num_kv_groups=2)
    >>> [tuple(t.shape) for t in gqa.heads(torch.rand(1, 3, 8))]  # queries, keys, values
    [(1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)]
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        context_length: int,
        num_heads: int,
        num_kv_groups: int,
        positions: str | None = None,
        dropout: float = 0.0,
        qkv_bias: bool = False,
        base: float = 10000.0,
    ) -> None:
        super().__init__(d_in, d_out, context_length, num_heads, positions, dropout, qkv_bias, base)
        self.num_kv_groups = num_kv_groups
        if num_kv_groups != num_heads:  # narrower key and value projections: one head per group
            self.W_key = nn.Linear(d_in, num_kv_groups * self.head_dim, bias=qkv_bias)
            self.W_value = nn.Linear(d_in, num_kv_groups * self.head_dim, bias=qkv_bias)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        # (batch, tokens, heads · head_dim) -> (batch, heads, tokens, head_dim): num_heads for the queries,
        # num_kv_groups for the keys and values
        batch, tokens, width = t.shape
        return t.view(batch, tokens, width // self.head_dim, self.head_dim).transpose(1, 2)


# --8<-- [end:grouped]


# --8<-- [start:latent]
class LatentCache:
    """What multi-head latent attention stores per token: its latent ``(batch, length, latent_dim)`` and its
    RoPE key ``(batch, length, rope_dim)``, shared by every head; preallocated for ``capacity`` tokens.

    >>> cache = LatentCache(batch=1, latent_dim=4, rope_dim=2, capacity=8)
    >>> latents, rope_keys = cache.append(torch.ones(1, 3, 4), torch.zeros(1, 3, 2))
    >>> latents.shape, len(cache)
    (torch.Size([1, 3, 4]), 3)
    """

    def __init__(
        self,
        batch: int,
        latent_dim: int,
        rope_dim: int,
        capacity: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        self.latents = torch.zeros(batch, capacity, latent_dim, dtype=dtype, device=device)
        self.rope_keys = torch.zeros(batch, capacity, rope_dim, dtype=dtype, device=device)
        self.length = 0

    def __len__(self) -> int:
        return self.length

    @property
    def capacity(self) -> int:
        return self.latents.shape[1]

    def append(self, latents: torch.Tensor, rope_keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new tokens' latents and RoPE keys after the others; return all of them so far."""
        start, end = self.length, self.length + latents.shape[1]
        self.latents[:, start:end] = latents
        self.rope_keys[:, start:end] = rope_keys
        self.length = end
        return self.latents[:, :end], self.rope_keys[:, :end]


class MultiHeadLatentAttention(nn.Module):
    """Causal multi-head latent attention (DeepSeek-V2), without its compression of the queries.

    Each token's keys and values come from one latent ``c = x W_down`` of ``latent_dim`` numbers: head ``h``'s
    key is ``c W_up_key[h]`` and its value ``c W_up_value[h]``. Positions travel apart, in a key of
    ``rope_dim`` numbers that every head shares (``x W_key_rope``, turned by RoPE) and a query part of as many
    per head; a score adds the two dot products and is divided by ``√(head_dim + rope_dim)``. A cache keeps
    ``latent_dim + rope_dim`` numbers per token and layer, whatever the number of heads.
    ``forward(x, cache)`` reads only the new tokens when the earlier ones are in ``cache``.

    >>> mla = MultiHeadLatentAttention(d_in=8, d_out=8, context_length=4, num_heads=2, latent_dim=3, rope_dim=2)
    >>> mla(torch.rand(1, 4, 8)).shape
    torch.Size([1, 4, 8])
    """

    allowed: torch.Tensor  # a buffer, registered in __init__: True where a query may look

    def __init__(
        self,
        d_in: int,
        d_out: int,
        context_length: int,
        num_heads: int,
        latent_dim: int,
        rope_dim: int,
        base: float = 10000.0,
    ) -> None:
        super().__init__()
        self.d_in, self.d_out, self.num_heads = d_in, d_out, num_heads
        self.head_dim, self.latent_dim, self.rope_dim = d_out // num_heads, latent_dim, rope_dim
        self.context_length, self.base = context_length, base
        self.W_query = nn.Linear(d_in, d_out, bias=False)
        self.W_query_rope = nn.Linear(d_in, num_heads * rope_dim, bias=False)
        self.W_down = nn.Linear(d_in, latent_dim, bias=False)  # the cached latent
        self.W_up_key = nn.Linear(latent_dim, d_out, bias=False)
        self.W_up_value = nn.Linear(latent_dim, d_out, bias=False)
        self.W_key_rope = nn.Linear(d_in, rope_dim, bias=False)  # the cached RoPE key, one for every head
        self.out_proj = nn.Linear(d_out, d_out)
        self.register_buffer("allowed", torch.ones(context_length, context_length).tril().bool(), persistent=False)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        # (batch, tokens, heads · width) -> (batch, heads, tokens, width)
        batch, tokens, width = t.shape
        return t.view(batch, tokens, self.num_heads, width // self.num_heads).transpose(1, 2)

    def latents(self, x: torch.Tensor, start: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """What the cache keeps of the tokens ``x``, numbered from ``start``: their latents
        ``(batch, tokens, latent_dim)`` and their RoPE keys ``(batch, tokens, rope_dim)``."""
        where = torch.arange(start, start + x.shape[1], device=x.device)
        return self.W_down(x), apply_rope(self.W_key_rope(x), where, self.base)

    def heads(
        self, x: torch.Tensor, latents: torch.Tensor, rope_keys: torch.Tensor, start: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The queries of the tokens ``x`` (numbered from ``start``), and the keys and values of every token
        whose ``latents`` and ``rope_keys`` are given: ``(batch, heads, tokens, ·)``, with the RoPE part last
        in queries and keys (``head_dim + rope_dim`` features), ``head_dim`` in values."""
        where = torch.arange(start, start + x.shape[1], device=x.device)
        queries_rope = apply_rope(self._split_heads(self.W_query_rope(x)), where, self.base)
        queries = torch.cat((self._split_heads(self.W_query(x)), queries_rope), dim=-1)
        shared = rope_keys[:, None].expand(-1, self.num_heads, -1, -1)  # one RoPE key for every head
        keys = torch.cat((self._split_heads(self.W_up_key(latents)), shared), dim=-1)
        return queries, keys, self._split_heads(self.W_up_value(latents))

    def forward(self, x: torch.Tensor, cache: LatentCache | None = None) -> torch.Tensor:
        batch, new, _ = x.shape
        start = 0 if cache is None else len(cache)
        latents, rope_keys = self.latents(x, start)
        if cache is not None:
            latents, rope_keys = cache.append(latents, rope_keys)
        queries, keys, values = self.heads(x, latents, rope_keys, start)
        total = keys.shape[2]
        allowed = self.allowed[total - new : total, :total]  # the new queries' rows of the causal mask
        context = F.scaled_dot_product_attention(queries, keys, values, attn_mask=allowed)
        return self.out_proj(context.transpose(1, 2).reshape(batch, new, self.d_out))


# --8<-- [end:latent]


# --8<-- [start:memory]
@dataclass(frozen=True)
class CacheShape:
    """What each layer of a model caches per token: ``kv_heads`` keys and as many values of ``head_dim``
    numbers (multi-head, grouped-query or multi-query attention), or a latent of ``latent_dim`` numbers and a
    RoPE key of ``rope_dim`` (multi-head latent attention).

    >>> CacheShape(layers=32, kv_heads=8, head_dim=128).bytes_per_token()  # Llama-3-8B in bfloat16
    131072
    >>> CacheShape(layers=60, latent_dim=512, rope_dim=64).bytes_per_token()  # DeepSeek-V2
    69120
    """

    layers: int
    kv_heads: int = 0
    head_dim: int = 0
    latent_dim: int = 0
    rope_dim: int = 0

    def bytes_per_token(self, bytes_per_value: int = 2) -> int:
        return self.layers * (2 * self.kv_heads * self.head_dim + self.latent_dim + self.rope_dim) * bytes_per_value


# published models, from their configuration files (config.json): the attention they use and what it caches
PUBLISHED = {
    "Llama-2-7B": ("MHA", CacheShape(layers=32, kv_heads=32, head_dim=128)),  # 32 heads of 128
    "Llama-3-8B": ("GQA", CacheShape(layers=32, kv_heads=8, head_dim=128)),  # 32 query heads, 8 key-value heads
    "Llama-3-70B": ("GQA", CacheShape(layers=80, kv_heads=8, head_dim=128)),  # 64 query heads, 8 key-value heads
    "Falcon-7B": ("MQA", CacheShape(layers=32, kv_heads=1, head_dim=64)),  # 71 query heads of 64, multi_query
    "DeepSeek-V2": ("MLA", CacheShape(layers=60, latent_dim=512, rope_dim=64)),  # kv_lora_rank, qk_rope_head_dim
}


# --8<-- [end:memory]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_grouped_init(
    self: object,
    d_in: object,
    d_out: object,
    context_length: object,
    num_heads: object,
    num_kv_groups: object,
    *args: object,
    **kwargs: object,
) -> None:
    num_heads = check_positive_int("num_heads", num_heads)
    groups = check_positive_int("num_kv_groups", num_kv_groups)
    if num_heads % groups:
        raise ValueError(
            f"num_heads must divide into num_kv_groups equal groups, got num_heads={num_heads} and "
            f"num_kv_groups={groups}; the divisors of {num_heads} are "
            f"{[g for g in range(1, num_heads + 1) if num_heads % g == 0]}"
        )


def _check_latent_cache_init(
    self: object,
    batch: object,
    latent_dim: object,
    rope_dim: object,
    capacity: object,
    dtype: object = torch.float32,
    device: object = None,
) -> None:
    for name, value in (("batch", batch), ("latent_dim", latent_dim), ("capacity", capacity)):
        check_positive_int(name, value)
    check_even_features("rope_dim", rope_dim)
    check_float_dtype("dtype", dtype)


def _check_latent_append(self: LatentCache, latents: object, rope_keys: object) -> None:
    batch, latent_dim, rope_dim = self.latents.shape[0], self.latents.shape[2], self.rope_keys.shape[2]
    checked = []
    for name, t, width in (("latents", latents, latent_dim), ("rope_keys", rope_keys, rope_dim)):
        expected = f"(batch, new, {name.removesuffix('s')} features) = ({batch}, new, {width})"
        t = check_float_tensor(name, t, shapes={3: expected})
        if t.shape[0] != batch or t.shape[2] != width or t.shape[1] == 0:
            raise ValueError(f"{name} must have shape {expected}, got {tuple(t.shape)}")
        check_same_device_and_dtype(**{name: t, "the cache": self.latents})
        checked.append(t)
    if checked[0].shape[1] != checked[1].shape[1]:
        raise ValueError(
            f"latents and rope_keys must hold the same tokens, got {checked[0].shape[1]} and {checked[1].shape[1]}"
        )
    if len(self) + checked[0].shape[1] > self.capacity:
        raise ValueError(
            f"the cache holds {len(self)} of its {self.capacity} tokens and cannot take {checked[0].shape[1]} more: "
            "build it with a larger capacity"
        )


def _check_latent_init(
    self: object,
    d_in: object,
    d_out: object,
    context_length: object,
    num_heads: object,
    latent_dim: object,
    rope_dim: object,
    base: object = 10000.0,
) -> None:
    for name, value in (("d_in", d_in), ("context_length", context_length), ("latent_dim", latent_dim)):
        check_positive_int(name, value)
    d_out, num_heads = check_positive_int("d_out", d_out), check_positive_int("num_heads", num_heads)
    if d_out % num_heads:
        raise ValueError(f"d_out must be divisible by num_heads, got d_out={d_out} and num_heads={num_heads}")
    check_even_features("rope_dim", rope_dim)
    check_rope_base(base)


def _check_tokens(self: MultiHeadLatentAttention, x: object, start: int) -> torch.Tensor:
    x = check_module_input("x", x, d_in=self.d_in, like=self.W_query.weight)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, tokens, d_in), got {tuple(x.shape)}")
    if start + x.shape[1] > self.context_length:
        raise ValueError(
            f"positions {start} to {start + x.shape[1] - 1} run past the module's context_length, {self.context_length}"
        )
    return x


def _check_latents(self: MultiHeadLatentAttention, x: object, start: object = 0) -> None:
    _check_tokens(self, x, check_start(start))


def _check_latent_heads(
    self: MultiHeadLatentAttention, x: object, latents: object, rope_keys: object, start: object = 0
) -> None:
    x = _check_tokens(self, x, check_start(start))
    for name, t, width in (("latents", latents, self.latent_dim), ("rope_keys", rope_keys, self.rope_dim)):
        expected = f"(batch, total, {width})"
        t = check_float_tensor(name, t, shapes={3: expected})
        if t.shape[0] != x.shape[0] or t.shape[2] != width or t.shape[1] < x.shape[1]:
            raise ValueError(f"{name} must have shape {expected}, with total at least x's tokens, got {tuple(t.shape)}")
        check_same_device_and_dtype(**{name: t, "x": x})


def _check_latent_forward(self: MultiHeadLatentAttention, x: object, cache: object = None) -> None:
    if cache is not None and not isinstance(cache, LatentCache):
        raise TypeError(f"cache must be a LatentCache or None, got {type(cache).__name__}")
    start = 0 if cache is None else len(cache)
    x = _check_tokens(self, x, start)
    if cache is not None:
        wanted = (x.shape[0], self.latent_dim, self.rope_dim)
        held = (cache.latents.shape[0], cache.latents.shape[2], cache.rope_keys.shape[2])
        if held != wanted:
            raise ValueError(
                f"cache must hold (batch, latent_dim, rope_dim) = {wanted} for this module and x, got {held}"
            )
        check_same_device_and_dtype(x=x, cache=cache.latents)


def _check_shape(
    self: object,
    layers: object,
    kv_heads: object = 0,
    head_dim: object = 0,
    latent_dim: object = 0,
    rope_dim: object = 0,
) -> None:
    check_positive_int("layers", layers)
    for name, value in (
        ("kv_heads", kv_heads),
        ("head_dim", head_dim),
        ("latent_dim", latent_dim),
        ("rope_dim", rope_dim),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    grouped = kv_heads != 0 and head_dim != 0 and latent_dim == 0 and rope_dim == 0
    latent = kv_heads == 0 and head_dim == 0 and latent_dim != 0
    if not (grouped or latent):
        raise ValueError(
            "a CacheShape holds either kv_heads and head_dim (MHA, GQA, MQA) or latent_dim and rope_dim (MLA), "
            f"got kv_heads={kv_heads}, head_dim={head_dim}, latent_dim={latent_dim}, rope_dim={rope_dim}"
        )


checked_methods(GroupedQueryAttention, __init__=_check_grouped_init)
checked_methods(LatentCache, __init__=_check_latent_cache_init, append=_check_latent_append)
checked_methods(
    MultiHeadLatentAttention,
    __init__=_check_latent_init,
    latents=_check_latents,
    heads=_check_latent_heads,
    forward=_check_latent_forward,
)
checked_methods(CacheShape, __init__=_check_shape)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figure.
CHAPTER = "grouped-query-attention"


def _module_on_journey(build: Callable[[], nn.Module]) -> Callable[[torch.device, torch.dtype], Outputs]:
    def run(device: torch.device, dtype: torch.dtype) -> Outputs:
        torch.manual_seed(123)  # as the page's examples
        module = build()
        grad_out = torch.randn(1, 6, 8, generator=torch.Generator().manual_seed(0))
        module.to(device=device, dtype=dtype)
        return module_outputs(module, [moved(your_journey()[None], device, dtype)], moved(grad_out, device, dtype))

    return run


AGREEMENT = (
    Example(
        CHAPTER,
        "GroupedQueryAttention, 4 query heads, 2 key-value heads",
        _module_on_journey(lambda: GroupedQueryAttention(3, 8, context_length=6, num_heads=4, num_kv_groups=2)),
    ),
    Example(
        CHAPTER,
        "MultiHeadLatentAttention, 4 heads, latent 2, RoPE key 2",
        _module_on_journey(
            lambda: MultiHeadLatentAttention(3, 8, context_length=6, num_heads=4, latent_dim=2, rope_dim=2)
        ),
    ),
)

CONTEXTS = (1024, 4096, 16384, 32768, 65536, 98304, 131072)


def _memory_figure() -> Lines:
    """GiB of cache per sequence in bfloat16 against context length, for each published model."""
    series = {
        f"{name} ({attention})": [shape.bytes_per_token() * tokens / 2**30 for tokens in CONTEXTS]
        for name, (attention, shape) in PUBLISHED.items()
    }
    return Lines(CONTEXTS, series, xticks=(0, 32768, 65536, 98304, 131072))


FIGURES = {"memory": _memory_figure}
