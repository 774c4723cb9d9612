"""The KV cache: generating one token at a time without recomputing the past.

A causal model that has read ``t`` tokens and generates token ``t + 1`` needs
only that token's query: the past tokens' keys and values do not change (the
causal mask keeps them blind to what comes later). A KV cache keeps them, so a
step costs one token's projections and one row of scores instead of the
whole ``t × t`` matrix again. Its price is memory: two vectors per token, per
layer and per key-value head, for the whole context.
"""

from __future__ import annotations

# --8<-- [start:imports]
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_bool,
    check_float_dtype,
    check_module_input,
    check_positive_int,
    checked_by,
    checked_methods,
)
from attn_examples.chapters import Example, Lines, Outputs, moved
from attn_examples.positions import PositionalMultiHeadAttention
from attn_examples.self_attention import your_journey


# --8<-- [start:cache]
class KVCache:
    """The keys and values of the tokens seen so far: ``(batch, heads, length, head_dim)`` each.

    Preallocated (the default): one ``(batch, heads, capacity, head_dim)`` buffer each, filled in place; a step
    past ``capacity`` raises an error. ``grow=True`` doubles the buffers when they are full instead: no limit
    to set in advance, at the price of a copy of the whole cache at each doubling and up to twice the memory.

    >>> cache = KVCache(batch=1, heads=2, head_dim=4, capacity=8)
    >>> keys, values = cache.append(torch.ones(1, 2, 3, 4), torch.zeros(1, 2, 3, 4))
    >>> keys.shape, len(cache)
    (torch.Size([1, 2, 3, 4]), 3)
    """

    def __init__(
        self,
        batch: int,
        heads: int,
        head_dim: int,
        capacity: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        grow: bool = False,
    ) -> None:
        self.grow = grow
        self.keys = torch.zeros(batch, heads, capacity, head_dim, dtype=dtype, device=device)
        self.values = torch.zeros_like(self.keys)
        self.length = 0

    def __len__(self) -> int:
        return self.length

    @property
    def capacity(self) -> int:
        return self.keys.shape[2]

    def append(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new tokens' ``keys`` and ``values`` after the others; return all of them so far."""
        start, end = self.length, self.length + keys.shape[2]
        if end > self.capacity and self.grow:  # a new buffer twice as long (or enough), the old one copied in
            more = max(end, 2 * self.capacity) - self.capacity
            self.keys, self.values = F.pad(self.keys, (0, 0, 0, more)), F.pad(self.values, (0, 0, 0, more))
        self.keys[:, :, start:end] = keys
        self.values[:, :, start:end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]

    def reset(self) -> None:
        """Forget every token (the buffers stay allocated, for the next sequence)."""
        self.length = 0


# --8<-- [end:cache]


# --8<-- [start:cached_forward]
def cached_attention(mha: PositionalMultiHeadAttention, x: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """``mha`` on the new tokens ``x`` ``(batch, new, d_in)``, which follow the ``len(cache)`` tokens the cache
    holds: their positions continue from there, their keys and values join the cache, and their queries attend
    to every cached key up to their own position. A prompt goes in at once, then one token per step.
    """
    queries, keys, values = mha.heads(x, len(cache))  # the new tokens' own, their positions continuing
    keys, values = cache.append(keys, values)  # and every token's so far
    return mha.attend(queries, keys, values)  # the new queries' rows of the causal mask, over every key


# --8<-- [end:cached_forward]


# --8<-- [start:decoder]
class DecoderBlock(nn.Module):
    """A layer norm, RoPE multi-head attention and a residual; then a layer norm, a two-layer MLP and a
    residual. ``forward(x, cache)`` reads only the new tokens when the earlier ones are in ``cache``.
    ``attention`` builds the attention module from ``(d_in, d_out, context_length, num_heads, positions=)``."""

    def __init__(
        self,
        d_model: int,
        heads: int,
        context_length: int,
        attention: Callable[..., PositionalMultiHeadAttention] = PositionalMultiHeadAttention,
    ) -> None:
        super().__init__()
        self.norm_1, self.norm_2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attention = attention(d_model, d_model, context_length, heads, positions="rope")
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        h = self.norm_1(x)
        x = x + (self.attention(h) if cache is None else cached_attention(self.attention, h, cache))
        return x + self.mlp(self.norm_2(x))


class TinyDecoder(nn.Module):
    """A small causal language model of the guide's modules, to time generation: token embeddings,
    ``layers`` decoder blocks, a last layer norm, and the embeddings again as the output layer (GPT-2's
    tied weights). ``forward(tokens)`` reads a whole sequence ``(batch, tokens)`` and returns its logits;
    ``forward(tokens, caches)`` reads only the new tokens (``caches``: one ``KVCache`` per layer).
    """

    def __init__(
        self,
        vocab: int = 256,
        d_model: int = 128,
        heads: int = 4,
        layers: int = 4,
        context_length: int = 1024,
        attention: Callable[..., PositionalMultiHeadAttention] = PositionalMultiHeadAttention,
    ):
        super().__init__()
        self.head_dim = d_model // heads
        self.embedding = nn.Embedding(vocab, d_model)
        blocks = [DecoderBlock(d_model, heads, context_length, attention) for _ in range(layers)]
        self.kv_heads = blocks[0].attention.W_key.out_features // self.head_dim  # what a cache stores per layer
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(d_model)

    def new_caches(self, batch: int, capacity: int) -> list[KVCache]:
        """One empty cache per block, for ``batch`` sequences of up to ``capacity`` tokens."""
        weight = self.embedding.weight
        return [
            KVCache(batch, self.kv_heads, self.head_dim, capacity, dtype=weight.dtype, device=weight.device)
            for _ in self.blocks
        ]

    def forward(self, tokens: torch.Tensor, caches: list[KVCache] | None = None) -> torch.Tensor:
        x = self.embedding(tokens)
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.norm(x) @ self.embedding.weight.T


@torch.no_grad()
def generate(model: TinyDecoder, prompt: torch.Tensor, new_tokens: int, use_cache: bool = True) -> torch.Tensor:
    """``prompt`` ``(batch, tokens)`` followed by ``new_tokens`` greedy tokens. Without the cache every step
    reads the whole sequence again; with it, the prompt once, then one token per step."""
    tokens = prompt
    caches = model.new_caches(prompt.shape[0], prompt.shape[1] + new_tokens) if use_cache else None
    step_input = prompt
    for _ in range(new_tokens):
        logits = model(step_input if use_cache else tokens, caches)
        following = logits[:, -1].argmax(dim=-1, keepdim=True)
        tokens = torch.cat((tokens, following), dim=1)
        step_input = following
    return tokens


# --8<-- [end:decoder]


# --8<-- [start:memory]
def kv_cache_bytes(layers: int, kv_heads: int, head_dim: int, tokens: int, bytes_per_value: int = 2) -> int:
    """Bytes a KV cache holds for ``tokens`` tokens of one sequence: a key and a value per token, layer and
    key-value head, ``head_dim`` numbers each.

    >>> kv_cache_bytes(layers=32, kv_heads=8, head_dim=128, tokens=1)  # Llama-3-8B in bfloat16: 128 KiB a token
    131072
    """
    return 2 * layers * kv_heads * head_dim * bytes_per_value * tokens


# (layers, key-value heads, head_dim) of published models, from their configuration files (config.json:
# num_hidden_layers or n_layer, num_key_value_heads or the number of heads, hidden size ÷ heads)
MODELS = {
    "GPT-2 small": (12, 12, 64),  # openai-community/gpt2: n_layer 12, n_head 12, n_embd 768
    "Llama-2-7B": (32, 32, 128),  # meta-llama/Llama-2-7b-hf: 32 layers, 32 heads, no grouping, hidden 4096
    "Llama-3-8B": (32, 8, 128),  # meta-llama/Meta-Llama-3-8B: 32 layers, 32 query heads, 8 key-value heads
    "Mistral-7B": (32, 8, 128),  # mistralai/Mistral-7B-v0.1: 32 layers, 32 query heads, 8 key-value heads
}


def kv_cache_table(contexts: tuple[int, ...] = (4096, 32768, 131072), bytes_per_value: int = 2) -> dict[str, list[int]]:
    """Each model of ``MODELS`` → the bytes of its KV cache for one sequence of each length in ``contexts``.

    >>> [size / 2**30 for size in kv_cache_table()["Llama-2-7B"]]  # GiB, in float16
    [2.0, 16.0, 64.0]
    >>> [size / 2**30 for size in kv_cache_table()["Llama-3-8B"]]  # four query heads share each key-value head
    [0.5, 4.0, 16.0]
    """
    return {
        name: [kv_cache_bytes(layers, kv_heads, head_dim, tokens, bytes_per_value) for tokens in contexts]
        for name, (layers, kv_heads, head_dim) in MODELS.items()
    }


# --8<-- [end:memory]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_cache_init(
    self: object,
    batch: object,
    heads: object,
    head_dim: object,
    capacity: object,
    dtype: object = torch.float32,
    device: object = None,
    grow: object = False,
) -> None:
    for name, value in (("batch", batch), ("heads", heads), ("head_dim", head_dim), ("capacity", capacity)):
        check_positive_int(name, value)
    check_float_dtype("dtype", dtype)
    check_bool("grow", grow)


def _check_append(self: KVCache, keys: object, values: object) -> None:
    expected = (
        f"(batch, heads, new, head_dim) = ({self.keys.shape[0]}, {self.keys.shape[1]}, new, {self.keys.shape[3]})"
    )
    checked = []
    for name, t in (("keys", keys), ("values", values)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a tensor of shape {expected}, got {type(t).__name__}")
        if t.dim() != 4 or t.shape[:2] != self.keys.shape[:2] or t.shape[3] != self.keys.shape[3] or t.shape[2] == 0:
            raise ValueError(f"{name} must have shape {expected}, got {tuple(t.shape)}")
        if t.dtype != self.keys.dtype:
            raise TypeError(f"{name} must have the cache's dtype, {self.keys.dtype}, got {t.dtype}")
        if t.device != self.keys.device:
            raise ValueError(f"{name} must be on the cache's device, {self.keys.device}, got {t.device}")
        checked.append(t)
    if checked[0].shape != checked[1].shape:
        raise ValueError(
            f"keys and values must have the same shape, got {tuple(checked[0].shape)} and {tuple(checked[1].shape)}"
        )
    if len(self) + checked[0].shape[2] > self.capacity and not self.grow:
        raise ValueError(
            f"the cache holds {len(self)} of its {self.capacity} tokens and cannot take {checked[0].shape[2]} more: "
            "build it with a larger capacity, reset() it, or pass grow=True"
        )


def _check_cached_attention(mha: object, x: object, cache: object) -> None:
    if not isinstance(mha, PositionalMultiHeadAttention):
        raise TypeError(f"mha must be a PositionalMultiHeadAttention, got {type(mha).__name__}")
    if not isinstance(cache, KVCache):
        raise TypeError(f"cache must be a KVCache, got {type(cache).__name__}")
    x = check_module_input("x", x, d_in=mha.d_in, like=mha.W_query.weight)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, new, d_in), got {tuple(x.shape)}")
    wanted = (x.shape[0], mha.W_key.out_features // mha.head_dim, mha.head_dim)  # key-value heads
    held = (cache.keys.shape[0], cache.keys.shape[1], cache.keys.shape[3])
    if held != wanted:
        raise ValueError(f"cache must hold (batch, heads, head_dim) = {wanted} for this module and x, got {held}")
    if cache.keys.dtype != x.dtype or cache.keys.device != x.device:
        raise ValueError(f"cache must be {x.dtype} on {x.device}, as x, got {cache.keys.dtype} on {cache.keys.device}")
    if len(cache) + x.shape[1] > mha.context_length:
        raise ValueError(
            f"positions {len(cache)} to {len(cache) + x.shape[1] - 1} run past the module's context_length, "
            f"{mha.context_length}"
        )


def _check_bytes(
    layers: object, kv_heads: object, head_dim: object, tokens: object, bytes_per_value: object = 2
) -> None:
    for name, value in (("layers", layers), ("kv_heads", kv_heads), ("head_dim", head_dim), ("tokens", tokens)):
        check_positive_int(name, value)
    check_positive_int("bytes_per_value", bytes_per_value)


checked_methods(KVCache, __init__=_check_cache_init, append=_check_append)
cached_attention = checked_by(_check_cached_attention, cached_attention)
kv_cache_bytes = checked_by(_check_bytes, kv_cache_bytes)


def _check_table(contexts: object = (4096, 32768, 131072), bytes_per_value: object = 2) -> None:
    if not isinstance(contexts, tuple) or not contexts:
        raise TypeError(f"contexts must be a non-empty tuple of token counts, got {contexts!r}")
    for tokens in contexts:
        check_positive_int("each of contexts", tokens)
    check_positive_int("bytes_per_value", bytes_per_value)


kv_cache_table = checked_by(_check_table, kv_cache_table)


CHAPTER = "kv-cache"


def _cached_steps(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)  # as the page's example
    mha = PositionalMultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2, positions="rope")
    mha.to(device=device, dtype=dtype)
    x, cache = moved(your_journey()[None], device, dtype), KVCache(1, 2, 2, capacity=6, dtype=dtype, device=device)
    with torch.no_grad():
        steps = torch.cat([cached_attention(mha, x[:, t : t + 1], cache) for t in range(6)], dim=1)
    return {"output": {"steps": steps, "keys": cache.keys, "values": cache.values}}


def _decoder_logits(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(0)
    model = TinyDecoder(vocab=32, d_model=16, heads=2, layers=2, context_length=8).to(device=device, dtype=dtype)
    tokens = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]], device=device)
    caches = model.new_caches(1, 8)
    with torch.no_grad():
        prompt = model(tokens[:, :5], caches)
        steps = [model(tokens[:, t : t + 1], caches) for t in range(5, 8)]
    # the next-token probabilities: what generation picks from, bounded by 1 (the logits reach several units)
    return {"output": {"probabilities": torch.softmax(torch.cat([prompt, *steps], dim=1), dim=-1)}}


AGREEMENT = (
    Example(
        CHAPTER, 'cached_attention one token at a time, RoPE, on "Your journey starts with one step"', _cached_steps
    ),
    Example(CHAPTER, "TinyDecoder with KV caches: a 5-token prompt, then 3 steps", _decoder_logits),
)

CONTEXTS = (1024, 4096, 16384, 32768, 65536, 98304, 131072)


def _memory_figure() -> Lines:
    """GiB of cache in float16 against context length; models of the same cache share one line."""
    sizes = kv_cache_table(CONTEXTS)
    lines: dict[tuple[int, ...], list[str]] = {}
    for name, config in MODELS.items():
        lines.setdefault(config, []).append(name)
    series = {", ".join(names): [size / 2**30 for size in sizes[names[0]]] for names in lines.values()}
    return Lines(CONTEXTS, series, xticks=(0, 32768, 65536, 98304, 131072))


FIGURES = {"memory": _memory_figure}
