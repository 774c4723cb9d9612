"""Sparse attention: masks that let each query see a few keys, and the work and memory they save.

A mask says, for each query ``q`` and key ``k`` (their positions), whether ``q`` may attend to ``k``.
Written as a function of the two positions, a *mask_mod*, the same rule gives a dense boolean matrix
for ``F.scaled_dot_product_attention``, a ``BlockMask`` for PyTorch's FlexAttention (which skips the
tiles the rule leaves empty), and the list of tiles a tiled kernel must visit. A sliding window of
``window`` keys makes attention linear in the number of tokens, and its KV cache a rolling buffer of
``window`` entries.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_float_dtype,
    check_float_tensor,
    check_positive_int,
    check_qkv,
    check_same_device_and_dtype,
    checked_by,
    checked_methods,
)
from attn_examples.chapters import Example, Heatmap, Outputs, kernel_outputs, moved, positions

# --8<-- [start:masks]
# (batch, head, query position, key position) -> True where the query may attend to the key
MaskMod = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def causal(b: torch.Tensor, h: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Every key up to the query's own position."""
    return q >= k


def sliding_window(window: int) -> MaskMod:
    """The ``window`` most recent keys, the query's own included (Mistral, Gemma's local layers)."""

    def mask_mod(b: torch.Tensor, h: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return (q >= k) & (q - k < window)

    return mask_mod


def global_and_window(count: int, window: int) -> MaskMod:
    """A sliding window, plus the first ``count`` tokens, which every later query sees (Longformer's global
    tokens, or the "attention sinks" of streaming generation)."""

    def mask_mod(b: torch.Tensor, h: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return (q >= k) & ((q - k < window) | (k < count))

    return mask_mod


def dilated(window: int, dilation: int) -> MaskMod:
    """``window`` keys spaced ``dilation`` apart, counting back from the query: a wider reach for the same
    number of keys."""

    def mask_mod(b: torch.Tensor, h: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        distance = q - k
        return (distance >= 0) & (distance % dilation == 0) & (distance < window * dilation)

    return mask_mod


def block_local(block: int) -> MaskMod:
    """Causal attention within each block of ``block`` tokens and to the whole block before it (a
    block-sparse pattern: whole tiles kept or dropped)."""

    def mask_mod(b: torch.Tensor, h: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return (q >= k) & (q // block - k // block <= 1)

    return mask_mod


def dense_mask(mask_mod: MaskMod, tokens: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The ``(tokens, tokens)`` boolean matrix of ``mask_mod``, True where a query may attend to a key: the
    ``attn_mask`` of ``F.scaled_dot_product_attention``.

    >>> dense_mask(sliding_window(2), 4).int()
    tensor([[1, 0, 0, 0],
            [1, 1, 0, 0],
            [0, 1, 1, 0],
            [0, 0, 1, 1]], dtype=torch.int32)
    """
    positions = torch.arange(tokens, device=device)
    zero = torch.zeros((), dtype=torch.long, device=device)
    return mask_mod(zero, zero, positions[:, None], positions[None, :])


def masked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask_mod: MaskMod) -> torch.Tensor:
    """Attention of ``(batch, heads, tokens, head_dim)`` tensors under ``mask_mod``, with FlexAttention: the
    rule becomes a ``BlockMask`` of 128 × 128 tiles, and tiles it leaves empty are skipped. Eager here (it
    computes every score); compile it (``torch.compile(flex_attention)``) for a fused kernel."""
    tokens = q.shape[-2]
    block_mask = create_block_mask(mask_mod, None, None, tokens, tokens, device=q.device)
    return flex_attention(q, k, v, block_mask=block_mask)


def sliding_window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int) -> torch.Tensor:
    """Causal attention in which each query sees its ``window`` most recent keys (itself included)."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=dense_mask(sliding_window(window), q.shape[-2], q.device))


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, block: int = 128) -> torch.Tensor:
    """Sliding-window attention in linear time: each block of ``block`` queries attends, through
    ``F.scaled_dot_product_attention``, only to the ``window - 1`` keys before the block and the block's own,
    under the band's rows for them. Equal to ``sliding_window_attention``; its work grows as
    ``tokens × (window + block)``, not ``tokens²``."""
    tokens = q.shape[-2]
    outputs = []
    for start in range(0, tokens, block):
        end = min(start + block, tokens)
        first = max(0, start - window + 1)  # the oldest key any query of the block may see
        rows, cols = torch.arange(start, end, device=q.device), torch.arange(first, end, device=q.device)
        band = (rows[:, None] >= cols[None, :]) & (rows[:, None] - cols[None, :] < window)
        outputs.append(
            F.scaled_dot_product_attention(
                q[..., start:end, :], k[..., first:end, :], v[..., first:end, :], attn_mask=band
            )
        )
    return torch.cat(outputs, dim=-2)


# --8<-- [end:masks]


# --8<-- [start:reach]
def receptive_field(mask: torch.Tensor, layers: int) -> torch.Tensor:
    """Which tokens can reach each position after ``layers`` layers that all use ``mask`` ``(tokens, tokens)``:
    a layer mixes what each allowed key had gathered, so reach composes like a product of boolean matrices.

    >>> receptive_field(dense_mask(sliding_window(2), 5), layers=3).sum(dim=-1)  # 3 · (2 − 1) + 1 = 4 at most
    tensor([1, 2, 3, 4, 4])
    """
    step = mask.to(torch.int64)
    reach = step
    for _ in range(layers - 1):
        reach = ((reach @ step) > 0).to(torch.int64)
    return reach > 0


# --8<-- [end:reach]


# --8<-- [start:tiles]
def tile_occupancy(mask: torch.Tensor, tile: int) -> torch.Tensor:
    """For each ``tile`` × ``tile`` block of ``mask`` ``(tokens, tokens)``, whether any query in it may attend
    to any key in it: ``(tiles, tiles)``. A tiled kernel visits only the True ones.

    >>> tile_occupancy(dense_mask(sliding_window(2), 6), tile=2).int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [0, 1, 1]], dtype=torch.int32)
    """
    tokens = mask.shape[-1]
    tiles = math.ceil(tokens / tile)
    padded = F.pad(mask, (0, tiles * tile - tokens, 0, tiles * tile - tokens))
    return padded.view(tiles, tile, tiles, tile).any(dim=3).any(dim=1)


def tiled_masked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, tile: int = 64
) -> torch.Tensor:
    """Exact attention under ``mask`` ``(tokens, tokens)``, computed as FlashAttention does (tile by tile,
    an online softmax per query tile), visiting only the tiles ``tile_occupancy`` keeps. Every query must be
    allowed at least one key."""
    tokens = q.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1])
    occupied = tile_occupancy(mask, tile)
    out = torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype, device=q.device)
    for i in range(occupied.shape[0]):
        rows = slice(i * tile, min((i + 1) * tile, tokens))
        running_max = torch.full((*q.shape[:-2], rows.stop - rows.start, 1), -math.inf, dtype=q.dtype, device=q.device)
        total = torch.zeros_like(running_max)
        acc = torch.zeros(*q.shape[:-2], rows.stop - rows.start, v.shape[-1], dtype=q.dtype, device=q.device)
        for j in occupied[i].nonzero().flatten().tolist():  # the empty tiles are never visited
            cols = slice(j * tile, min((j + 1) * tile, tokens))
            scores = (q[..., rows, :] @ k[..., cols, :].transpose(-2, -1)) * scale
            scores = scores.masked_fill(~mask[rows, cols], -math.inf)
            new_max = torch.maximum(running_max, scores.amax(dim=-1, keepdim=True))
            shift = new_max.masked_fill(new_max == -math.inf, 0.0)  # a row with no key allowed yet: −∞ − (−∞)
            weights = torch.exp(scores - shift)  # 0 where masked
            rescale = torch.exp(running_max - shift)  # 0 while running_max is −∞
            total = total * rescale + weights.sum(dim=-1, keepdim=True)
            acc = acc * rescale + weights @ v[..., cols, :]
            running_max = new_max
        out[..., rows, :] = acc / total
    return out


# --8<-- [end:tiles]


# --8<-- [start:rolling]
class RollingKVCache:
    """The keys and values of the last ``window`` tokens: ``(batch, heads, window, head_dim)`` buffers in which
    the token at position ``p`` overwrites slot ``p % window``. Its memory stays that of ``window`` tokens,
    however long the generation.

    >>> cache = RollingKVCache(batch=1, heads=1, head_dim=1, window=3)
    >>> for p in range(5):
    ...     keys, _ = cache.append(torch.full((1, 1, 1, 1), float(p)), torch.zeros(1, 1, 1, 1))
    >>> keys.flatten()  # positions 2, 3 and 4, oldest first
    tensor([2., 3., 4.])
    """

    def __init__(
        self,
        batch: int,
        heads: int,
        head_dim: int,
        window: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        self.keys = torch.zeros(batch, heads, window, head_dim, dtype=dtype, device=device)
        self.values = torch.zeros_like(self.keys)
        self.length = 0  # tokens seen so far, all positions counted

    def __len__(self) -> int:
        return self.length

    @property
    def window(self) -> int:
        return self.keys.shape[2]

    def append(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store one new token's ``key`` and ``value`` ``(batch, heads, 1, head_dim)``; return the keys and
        values of the last ``window`` tokens (fewer at the start), oldest first."""
        slot = self.length % self.window
        self.keys[:, :, slot] = key[:, :, 0]
        self.values[:, :, slot] = value[:, :, 0]
        self.length += 1
        if self.length <= self.window:
            return self.keys[:, :, : self.length], self.values[:, :, : self.length]
        order = torch.arange(self.length, self.length + self.window, device=self.keys.device) % self.window
        return self.keys[:, :, order], self.values[:, :, order]


# --8<-- [end:rolling]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_window(window: object) -> None:
    check_positive_int("window", window)


def _check_two(first: str, a: object, second: str, b: object) -> None:
    check_positive_int(first, a)
    check_positive_int(second, b)


def _check_mask_mod(mask_mod: object) -> None:
    if not callable(mask_mod):
        raise TypeError(f"mask_mod must be a function (b, h, q, k) -> bool tensor, got {type(mask_mod).__name__}")


def _check_square_mask(mask: object) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() != 2:
        raise TypeError("mask must be a (tokens, tokens) boolean tensor, True where a query may attend to a key")
    if mask.shape[0] != mask.shape[1]:
        raise ValueError(f"mask must be square, (tokens, tokens), got {tuple(mask.shape)}")
    return mask


def _check_attention_inputs(q: object, k: object, v: object) -> torch.Tensor:
    q, k, v = check_qkv(q, k, v)
    if q.dim() != 4 or q.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"q, k and v must be (batch, heads, tokens, head_dim) with as many queries as keys, "
            f"got {tuple(q.shape)}, {tuple(k.shape)} and {tuple(v.shape)}"
        )
    return q


def _check_dense(mask_mod: object, tokens: object, device: object = None) -> None:
    _check_mask_mod(mask_mod)
    check_positive_int("tokens", tokens)


def _check_masked(q: object, k: object, v: object, mask_mod: object) -> None:
    _check_attention_inputs(q, k, v)
    _check_mask_mod(mask_mod)


def _check_sliding(q: object, k: object, v: object, window: object) -> None:
    _check_attention_inputs(q, k, v)
    _check_window(window)


def _check_local(q: object, k: object, v: object, window: object, block: object = 128) -> None:
    _check_attention_inputs(q, k, v)
    _check_window(window)
    check_positive_int("block", block)


def _check_reach(mask: object, layers: object) -> None:
    _check_square_mask(mask)
    check_positive_int("layers", layers)


def _check_occupancy(mask: object, tile: object) -> None:
    _check_square_mask(mask)
    check_positive_int("tile", tile)


def _check_tiled(q: object, k: object, v: object, mask: object, tile: object = 64) -> None:
    q_tensor = _check_attention_inputs(q, k, v)
    mask = _check_square_mask(mask)
    if mask.shape[0] != q_tensor.shape[-2] or mask.device != q_tensor.device:
        raise ValueError(
            f"mask must be ({q_tensor.shape[-2]}, {q_tensor.shape[-2]}) on {q_tensor.device}, as the queries, "
            f"got {tuple(mask.shape)} on {mask.device}"
        )
    if not mask.any(dim=-1).all():
        raise ValueError("every query must be allowed at least one key: a row of mask is all False")
    check_positive_int("tile", tile)


def _check_rolling_init(
    self: object,
    batch: object,
    heads: object,
    head_dim: object,
    window: object,
    dtype: object = torch.float32,
    device: object = None,
) -> None:
    for name, value in (("batch", batch), ("heads", heads), ("head_dim", head_dim), ("window", window)):
        check_positive_int(name, value)
    check_float_dtype("dtype", dtype)


def _check_rolling_append(self: RollingKVCache, key: object, value: object) -> None:
    expected = f"(batch, heads, 1, head_dim) = ({self.keys.shape[0]}, {self.keys.shape[1]}, 1, {self.keys.shape[3]})"
    for name, t in (("key", key), ("value", value)):
        t = check_float_tensor(name, t, shapes={4: expected})
        if (t.shape[0], t.shape[1], t.shape[2], t.shape[3]) != (*self.keys.shape[:2], 1, self.keys.shape[3]):
            raise ValueError(f"{name} must have shape {expected}: one token a step, got {tuple(t.shape)}")
        check_same_device_and_dtype(**{name: t, "the cache": self.keys})


sliding_window = checked_by(_check_window, sliding_window)
global_and_window = checked_by(lambda count, window: _check_two("count", count, "window", window), global_and_window)
dilated = checked_by(lambda window, dilation: _check_two("window", window, "dilation", dilation), dilated)
block_local = checked_by(lambda block: check_positive_int("block", block), block_local)
dense_mask = checked_by(_check_dense, dense_mask)
masked_attention = checked_by(_check_masked, masked_attention)
sliding_window_attention = checked_by(_check_sliding, sliding_window_attention)
local_attention = checked_by(_check_local, local_attention)
receptive_field = checked_by(_check_reach, receptive_field)
tile_occupancy = checked_by(_check_occupancy, tile_occupancy)
tiled_masked_attention = checked_by(_check_tiled, tiled_masked_attention)
checked_methods(RollingKVCache, __init__=_check_rolling_init, append=_check_rolling_append)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figure of masks (its
# figure of times is drawn from the measurements of `bench --window`).
CHAPTER = "sparse-attention"
PATTERNS = {  # the chapter's five masks, as its figure of masks and its notebook show them
    "causal": causal,
    "sliding window of 4": sliding_window(4),
    "2 global tokens, window of 3": global_and_window(2, 3),
    "dilated, 4 keys 2 apart": dilated(4, 2),
    "local blocks of 4": block_local(4),
}


def _qkv(device: torch.device, dtype: torch.dtype) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [moved(torch.randn(1, 2, 40, 8, generator=g), device, dtype) for _ in range(4)]


def _tiled(device: torch.device, dtype: torch.dtype) -> Outputs:
    q, k, v, _ = _qkv(device, dtype)
    mask = dense_mask(global_and_window(2, 5), 40, device)
    return {"output": {"output": tiled_masked_attention(q, k, v, mask, tile=8)}}


def _local(device: torch.device, dtype: torch.dtype) -> Outputs:
    q, k, v, grad_out = _qkv(device, dtype)
    return kernel_outputs(lambda q, k, v: local_attention(q, k, v, 6, block=16), q, k, v, grad_out)


AGREEMENT = (
    Example(CHAPTER, "tiled_masked_attention, 2 global tokens and a window of 5, tiles of 8", _tiled),
    Example(CHAPTER, "local_attention, window 6, blocks of 16", _local),
)


def _masks_figure() -> Heatmap:
    masks = torch.stack([dense_mask(rule, 16) for rule in PATTERNS.values()])
    weights = masks / masks.sum(dim=-1, keepdim=True)  # uniform scores: each allowed key gets an equal share
    return Heatmap(weights, positions(16), annotate=False)


FIGURES = {"masks": _masks_figure}
