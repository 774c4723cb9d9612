"""Attention across devices: ring attention on ``torch.distributed``, the chapter "attention-across-devices".

One sequence is split across ``P`` processes (ranks), each holding a shard of its tokens. Gathering
every rank's keys and values first (``all_gather_attention``) is exact, but each rank then holds the
keys and values of the whole sequence. Ring attention holds two blocks at a time: each rank keeps its
queries, the key/value blocks travel around a ring of ranks, and each rank folds every block it
receives into its output with the online softmax of the efficient-attention chapter, merging partial
results by their log-sum-exp. The next block is already on its way while the current one is computed.

It runs on gloo (CPU) or NCCL (GPUs), in processes started by ``torchrun`` or by ``spawn``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import datetime
import math
import os
import pickle
import socket
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_bool,
    check_float_dtype,
    check_float_tensor,
    check_positive_int,
    check_qkv,
    checked_by,
)
from attn_examples.chapters import Example, Lines, Outputs, kernel_outputs, moved
from attn_examples.flash import _flash_backward, _flash_forward

# --8<-- [start:layout]
LAYOUTS = ("contiguous", "zigzag")


def shard_ranges(tokens: int, world_size: int, layout: str = "zigzag") -> list[list[tuple[int, int]]]:
    """For each rank, the ``(start, stop)`` ranges of the positions its shard holds, in order.

    ``contiguous`` cuts the sequence into ``world_size`` pieces; ``zigzag`` cuts it into
    ``2 · world_size`` and gives rank ``r`` pieces ``r`` and ``2P − 1 − r``, one early and one late,
    so that under a causal mask every rank has the same work. Pieces differ by one token at most
    (the first ones are the longer), and so do shards.

    >>> shard_ranges(8, 2, "contiguous")
    [[(0, 4)], [(4, 8)]]
    >>> shard_ranges(8, 2)
    [[(0, 2), (6, 8)], [(2, 4), (4, 6)]]
    >>> [sum(b - a for a, b in ranges) for ranges in shard_ranges(11, 3)]
    [3, 4, 4]
    """
    pieces = world_size if layout == "contiguous" else 2 * world_size
    base, extra = divmod(tokens, pieces)
    stops = [(i + 1) * base + min(i + 1, extra) for i in range(pieces)]
    piece = [(stop - base - (i < extra), stop) for i, stop in enumerate(stops)]
    if layout == "contiguous":
        return [[piece[r]] for r in range(world_size)]
    return [[p for p in (piece[r], piece[pieces - 1 - r]) if p[1] > p[0]] for r in range(world_size)]


def split_sequence(x: torch.Tensor, world_size: int, rank: int, layout: str = "zigzag") -> torch.Tensor:
    """Rank ``rank``'s shard of ``x`` ``(..., tokens, features)``: the positions ``shard_ranges`` gives it.

    >>> x = torch.arange(8.0)[:, None]
    >>> split_sequence(x, 2, 0).flatten().tolist()
    [0.0, 1.0, 6.0, 7.0]
    """
    ranges = shard_ranges(x.shape[-2], world_size, layout)[rank]
    return torch.cat([x[..., a:b, :] for a, b in ranges], dim=-2)


# --8<-- [end:layout]


# --8<-- [start:ring]
@dataclass(frozen=True)
class _Ring:
    """Who this rank is in the ring, and what every rank holds."""

    group: dist.ProcessGroup | None
    rank: int
    size: int
    ranges: list[list[tuple[int, int]]]  # per rank: the positions of its shard

    @property
    def next(self) -> int:
        """The global rank this rank sends to."""
        return self._global((self.rank + 1) % self.size)

    @property
    def prev(self) -> int:
        """The global rank this rank receives from."""
        return self._global((self.rank - 1) % self.size)

    def _global(self, rank: int) -> int:
        return rank if self.group is None else dist.get_global_rank(self.group, rank)

    def pieces(self, rank: int) -> list[tuple[int, int, int]]:
        """Rank ``rank``'s pieces: ``(offset in its shard, first position, stop position)``."""
        out, offset = [], 0
        for a, b in self.ranges[rank]:
            out.append((offset, a, b))
            offset += b - a
        return out

    def length(self, rank: int) -> int:
        """How many tokens rank ``rank`` holds."""
        return sum(b - a for a, b in self.ranges[rank])


_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _ring_of(
    x: torch.Tensor, sizes: tuple[int, ...], causal: bool, group: dist.ProcessGroup | None, layout: str
) -> _Ring:
    """The ring, once every rank has checked what every rank passes (``x``: this rank's shard,
    ``sizes``: its other sizes, which must be the same everywhere): a rank that passed something else
    gets the same error as the others, instead of a hang."""
    rank, size = dist.get_rank(group), dist.get_world_size(group)
    padded = [*sizes, *[-1] * (4 - len(sizes))]
    mine = torch.tensor(
        [x.shape[-2], *padded, _DTYPES.index(x.dtype), int(causal), LAYOUTS.index(layout)], device=x.device
    )
    everyone = [torch.empty_like(mine) for _ in range(size)]
    dist.all_gather(everyone, mine, group=group)
    table = [row.tolist() for row in everyone]

    def described(row: list[int]) -> str:
        shown = [n for n in row[1:5] if n >= 0]
        return f"sizes {shown}, {_DTYPES[row[5]]}, causal={bool(row[6])}, layout {LAYOUTS[row[7]]!r}"

    for other, row in enumerate(table):
        if row[1:] != table[0][1:]:
            raise ValueError(
                f"every rank must pass shards of one sequence: rank 0 passes {described(table[0])}, "
                f"rank {other} {described(row)}"
            )
    lengths = [row[0] for row in table]
    tokens = sum(lengths)
    if tokens < size:
        raise ValueError(f"the sequence needs at least one token per rank, got {tokens} tokens on {size} ranks")
    ranges = shard_ranges(tokens, size, layout)
    expected = [sum(b - a for a, b in r) for r in ranges]
    if lengths != expected:
        raise ValueError(
            f"shards must be cut as split_sequence(x, {size}, rank, {layout!r}) cuts {tokens} tokens: "
            f"{expected} tokens on ranks 0..{size - 1}, got {lengths}"
        )
    return _Ring(group, rank, size, ranges)


# --8<-- [end:ring]


# --8<-- [start:sent_bytes]
class SentBytes:
    """Bytes this process sent to other ranks while the ``count_sent_bytes()`` block ran."""

    def __init__(self) -> None:
        self.total = 0


_COUNTERS: list[SentBytes] = []


@contextmanager
def count_sent_bytes() -> Iterator[SentBytes]:
    """Count the bytes ``ring_attention`` sends from this process to the next rank (its point-to-point messages).

    >>> with count_sent_bytes() as sent:
    ...     pass
    >>> sent.total
    0
    """
    counter = SentBytes()
    _COUNTERS.append(counter)
    try:
        yield counter
    finally:
        _COUNTERS.remove(counter)


def ring_bytes(
    tokens: int, world_size: int, sizes: tuple[int, int, int, int], dtype: torch.dtype, layout: str = "zigzag"
) -> list[int]:
    """The bytes each rank sends in one ``ring_attention`` forward pass: every block but one, keys and values.

    ``sizes`` is ``(batch, heads, d_k, d_v)``. Rank ``r`` forwards the blocks of every rank except
    ``r + 1``'s (the last it receives), so it sends about ``(P − 1)/P · T · batch · heads · (d_k + d_v)``
    numbers, whatever ``P``: the total over the ring grows as ``P · T``.

    >>> ring_bytes(1024, 4, (1, 8, 64, 64), torch.float16)
    [1572864, 1572864, 1572864, 1572864]
    """
    batch, heads, d_k, d_v = sizes
    lengths = [sum(b - a for a, b in r) for r in shard_ranges(tokens, world_size, layout)]
    per_token = batch * heads * (d_k + d_v) * torch.empty((), dtype=dtype).element_size()
    return [(tokens - lengths[(r + 1) % world_size]) * per_token for r in range(world_size)]


def _count(*tensors: torch.Tensor) -> None:
    for counter in _COUNTERS:
        counter.total += sum(t.numel() * t.element_size() for t in tensors)


# --8<-- [end:sent_bytes]


# --8<-- [start:exchange]
def _start_exchange(ring: _Ring, send: list[torch.Tensor], receive: list[torch.Tensor]) -> list[dist.Work]:
    """Send ``send`` to the next rank and receive ``receive`` from the previous one, without waiting."""
    ops = [dist.P2POp(dist.isend, t.contiguous(), ring.next, ring.group) for t in send]
    ops += [dist.P2POp(dist.irecv, t, ring.prev, ring.group) for t in receive]
    _count(*send)
    return dist.batch_isend_irecv(ops)


def _buffer(like: torch.Tensor, tokens: int) -> torch.Tensor:
    """Room for another rank's block of ``tokens`` tokens, shaped and typed like ``like``."""
    return torch.empty(*like.shape[:-2], tokens, like.shape[-1], dtype=like.dtype, device=like.device)


def _wait(works: list[dist.Work]) -> None:
    for work in works:
        work.wait()


# --8<-- [end:exchange]


# --8<-- [start:merge]
def merge_partial(
    out: torch.Tensor, lse: torch.Tensor, block_out: torch.Tensor, block_lse: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two attention outputs over disjoint sets of keys, each with its log-sum-exp, as one.

    Each output is a weighted average normalised over its own keys; over both sets the weights
    are rescaled by ``exp(lse_part − lse_both)``, where ``lse_both = log(e^lse + e^block_lse)``.

    >>> q, k, v = torch.randn(3, 1, 6, 4, generator=torch.Generator().manual_seed(0)).unbind(0)
    >>> def part(keys):
    ...     s = q @ k[:, keys].mT / 2
    ...     return torch.softmax(s, -1) @ v[:, keys], torch.logsumexp(s, -1)
    >>> out, _ = merge_partial(*part(slice(0, 2)), *part(slice(2, 6)))
    >>> torch.allclose(out, torch.softmax(q @ k.mT / 2, -1) @ v, atol=1e-6)
    True
    """
    both = torch.logaddexp(lse, block_lse)
    return out * torch.exp(lse - both)[..., None] + block_out * torch.exp(block_lse - both)[..., None], both


# --8<-- [end:merge]


# --8<-- [start:pairs]
def _pairs(ring: _Ring, owner: int, causal: bool) -> Iterator[tuple[slice, slice, bool]]:
    """The (query piece, key piece) pairs of this rank's queries and ``owner``'s keys that need work:
    ``(query slice, key slice, causal)``. Pieces are the same cuts of the sequence for queries and keys,
    so a pair is the same piece (the causal diagonal), keys all before the queries, or keys all after
    (skipped under a causal mask)."""
    for q_offset, q_start, q_stop in ring.pieces(ring.rank):
        for k_offset, k_start, k_stop in ring.pieces(owner):
            if causal and k_start >= q_stop:
                continue  # every key of this piece comes after every query
            diagonal = causal and k_start == q_start
            yield (
                slice(q_offset, q_offset + q_stop - q_start),
                slice(k_offset, k_offset + k_stop - k_start),
                diagonal,
            )


def scores_per_rank(tokens: int, world_size: int, causal: bool = True, layout: str = "zigzag") -> list[int]:
    """How many query-key scores the pairs of pieces each rank computes in one ``ring_attention`` pass hold,
    a diagonal pair counted whole (one tile computes it when it is no longer than ``TILE``): the work, by rank.

    Under a causal mask a contiguous split gives the last rank ``P`` times the first's; the zig-zag
    split gives every rank the same.

    >>> scores_per_rank(1024, 4, layout="contiguous")
    [65536, 131072, 196608, 262144]
    >>> scores_per_rank(1024, 4)
    [147456, 147456, 147456, 147456]
    """
    ranges = shard_ranges(tokens, world_size, layout)
    return [
        sum(
            (rows.stop - rows.start) * (cols.stop - cols.start)
            for owner in range(world_size)
            for rows, cols, _ in _pairs(_Ring(None, rank, world_size, ranges), owner, causal)
        )
        for rank in range(world_size)
    ]


# --8<-- [end:pairs]


# --8<-- [start:forward]
TILE = 256  # queries and keys per tile inside a pair: the only square buffer, heads × 256² scores


def _ring_forward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float, ring: _Ring
) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's output and log-sum-exp, the key/value blocks of every rank passing through."""
    acc_dtype = torch.promote_types(q.dtype, torch.float32)
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=acc_dtype, device=q.device)
    lse = torch.full(q.shape[:-1], float("-inf"), dtype=acc_dtype, device=q.device)
    block, owner = (k, v), ring.rank
    for step in range(ring.size):
        works: list[dist.Work] = []
        if step < ring.size - 1:  # the next block travels while this one is computed
            source = (owner - 1) % ring.size
            incoming = [_buffer(t, ring.length(source)) for t in block]
            works = _start_exchange(ring, list(block), incoming)
        for rows, cols, diagonal in _pairs(ring, owner, causal):
            # the efficient-attention chapter's tiled forward pass gives the pair's output and log-sum-exp
            q_piece, k_piece, v_piece = (t.to(acc_dtype) for t in (q[..., rows, :], *(b[..., cols, :] for b in block)))
            piece_out, piece_lse = _flash_forward(q_piece, k_piece, v_piece, diagonal, scale, TILE, TILE)
            out[..., rows, :], lse[..., rows] = merge_partial(out[..., rows, :], lse[..., rows], piece_out, piece_lse)
        if works:
            _wait(works)
            block, owner = (incoming[0], incoming[1]), source
    return out.to(q.dtype), lse


# --8<-- [end:forward]


# --8<-- [start:backward]
def _ring_backward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    out: torch.Tensor,
    lse: torch.Tensor,
    grad_out: torch.Tensor,
    causal: bool,
    scale: float,
    ring: _Ring,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of this rank's q, k and v: the key/value blocks go around the ring again, each
    carrying the gradients of its keys and values, which every rank adds to as the block passes."""
    acc_dtype = lse.dtype
    q_, out_, grad_ = (t.to(acc_dtype) for t in (q, out, grad_out))
    dq = torch.zeros_like(q_)
    block = (
        k.to(acc_dtype),
        v.to(acc_dtype),
        torch.zeros_like(k, dtype=acc_dtype),
        torch.zeros_like(v, dtype=acc_dtype),
    )
    owner = ring.rank
    for step in range(ring.size):
        works: list[dist.Work] = []
        source = (owner - 1) % ring.size
        if step < ring.size - 1:  # keys and values are read-only: they can travel while this block is computed
            incoming = [_buffer(t, ring.length(source)) for t in block[:2]]
            works = _start_exchange(ring, list(block[:2]), incoming)
        k_block, v_block, dk_block, dv_block = block
        for rows, cols, diagonal in _pairs(ring, owner, causal):
            dq_piece, dk_piece, dv_piece = _flash_backward(
                q_[..., rows, :],
                k_block[..., cols, :],
                v_block[..., cols, :],
                out_[..., rows, :],
                lse[..., rows],
                grad_[..., rows, :],
                diagonal,
                scale,
                TILE,
                TILE,
            )
            dq[..., rows, :] += dq_piece
            dk_block[..., cols, :] += dk_piece
            dv_block[..., cols, :] += dv_piece
        gradients = [dk_block, dv_block]
        if ring.size > 1:  # this rank's share is in the block's gradients only now: they follow the block
            gradients = [_buffer(t, ring.length(source)) for t in block[2:]]
            _wait(works + _start_exchange(ring, [dk_block, dv_block], gradients))
        if step < ring.size - 1:
            block, owner = (incoming[0], incoming[1], gradients[0], gradients[1]), source
    # after the last step, each block's gradients have come home
    return dq.to(q.dtype), gradients[0].to(k.dtype), gradients[1].to(v.dtype)


# --8<-- [end:backward]


# --8<-- [start:ring_attention]
class _RingAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, causal, scale, ring):
        out, lse = _ring_forward(q, k, v, causal, scale, ring)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.config = (causal, scale, ring)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, out, lse = ctx.saved_tensors
        return (*_ring_backward(q, k, v, out, lse, grad_out, *ctx.config), None, None, None)


def ring_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    group: dist.ProcessGroup | None = None,
    *,
    layout: str = "zigzag",
) -> torch.Tensor:
    """Exact attention over a sequence split across the ranks of ``group``: this rank's shard of the output.

    Each rank passes its own shard ``(batch, heads, local_tokens, head_dim)`` of the queries, keys
    and values, cut as ``split_sequence(x, P, rank, layout)`` cuts the whole sequence (shards may
    differ by one token); the result is the same shard of ``softmax(q kᵀ/√d) v`` over the whole
    sequence, causal or not. Gradients flow back through the same ring.
    """
    ring = _ring_of(q, (q.shape[0], q.shape[1], q.shape[-1], v.shape[-1]), causal, group, layout)
    return _RingAttention.apply(q, k, v, causal, 1.0 / math.sqrt(q.shape[-1]), ring)


# --8<-- [end:ring_attention]


# --8<-- [start:all_gather_attention]
class _GatherSequence(torch.autograd.Function):
    """All ranks' shards as one sequence, in order; the gradient of each shard goes back to its rank."""

    @staticmethod
    def forward(ctx, shard, ring):
        longest = max(ring.length(r) for r in range(ring.size))
        padded = torch.zeros(*shard.shape[:-2], longest, shard.shape[-1], dtype=shard.dtype, device=shard.device)
        padded[..., : shard.shape[-2], :] = shard
        gathered = [torch.empty_like(padded) for _ in range(ring.size)]
        dist.all_gather(gathered, padded, group=ring.group)
        pieces = sorted(
            (start, gathered[r][..., offset : offset + stop - start, :])
            for r in range(ring.size)
            for offset, start, stop in ring.pieces(r)
        )
        ctx.ring = ring
        return torch.cat([piece for _, piece in pieces], dim=-2)

    @staticmethod
    def backward(ctx, grad):
        ring = ctx.ring
        grad = grad.contiguous()
        dist.all_reduce(grad, group=ring.group)  # every rank's output depends on every shard
        return torch.cat([grad[..., a:b, :] for a, b in ring.ranges[ring.rank]], dim=-2), None


def gather_sequence(
    shard: torch.Tensor, group: dist.ProcessGroup | None = None, *, layout: str = "zigzag"
) -> torch.Tensor:
    """The whole sequence ``(..., tokens, features)`` from every rank's shard, cut by ``split_sequence``."""
    ring = _ring_of(shard, (*shard.shape[:-2], shard.shape[-1]), False, group, layout)
    return _GatherSequence.apply(shard, ring)


def all_gather_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    group: dist.ProcessGroup | None = None,
    *,
    layout: str = "zigzag",
) -> torch.Tensor:
    """The same result as ``ring_attention`` the plain way: gather every rank's keys and values, then
    attend with this rank's queries (each rank then holds the keys and values of the whole sequence)."""
    ring = _ring_of(q, (q.shape[0], q.shape[1], q.shape[-1], v.shape[-1]), causal, group, layout)
    keys, values = _GatherSequence.apply(k, ring), _GatherSequence.apply(v, ring)
    allowed = None
    if causal:
        query_positions = torch.cat([torch.arange(a, b, device=q.device) for a, b in ring.ranges[ring.rank]])
        allowed = query_positions[:, None] >= torch.arange(keys.shape[-2], device=q.device)[None, :]
    return torch.nn.functional.scaled_dot_product_attention(q, keys, values, attn_mask=allowed)


# --8<-- [end:all_gather_attention]


# --8<-- [start:spawn]
def spawn(
    fn: Callable[..., Any], world_size: int, *args: Any, timeout: float = 60.0, backend: str | None = None
) -> list[Any]:
    """Run ``fn(*args)`` in ``world_size`` new local processes joined in one process group: each rank's result.

    ``fn`` must be importable (a function at the top level of a module, or of the script run as
    ``__main__``), as ``torch.multiprocessing.spawn`` requires. The backend is NCCL when there is a GPU
    per rank, gloo otherwise. Every collective gives up after ``timeout`` seconds, and when one rank
    fails the others are stopped: the error names the rank and carries its traceback.
    """
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= world_size else "gloo"
    with socket.socket() as s:  # a free port on this machine for the ranks to meet at
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as out:
        try:
            mp.spawn(_run_rank, args=(fn, args, world_size, port, backend, timeout, out), nprocs=world_size, join=True)
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as error:
            raise RuntimeError(_first_failure(out) or str(error)) from error
        results = []
        for rank in range(world_size):
            with open(os.path.join(out, f"{rank}.pickle"), "rb") as f:
                results.append(pickle.load(f))
    return results


def _run_rank(
    rank: int, fn: Callable[..., Any], args: tuple, world_size: int, port: int, backend: str, timeout: float, out: str
) -> None:
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))  # the ranks share the machine's cores
    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(
        backend,
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout),
    )
    try:
        result = fn(*args)
    except BaseException:
        with open(os.path.join(out, f"{rank}.error"), "w", encoding="utf-8") as f:
            f.write(f"{time.time()!r}\n{traceback.format_exc()}")
        raise
    finally:
        dist.destroy_process_group()
    with open(os.path.join(out, f"{rank}.pickle"), "wb") as f:
        pickle.dump(result, f)


def _first_failure(out: str) -> str | None:
    """The error of the rank that failed first, then the others' (they fail because it did)."""
    failures = []
    for name in os.listdir(out):
        if name.endswith(".error"):
            with open(os.path.join(out, name), encoding="utf-8") as f:
                when, trace = f.read().split("\n", 1)
            failures.append((float(when), int(name.split(".")[0]), trace))
    if not failures:
        return None
    failures.sort()
    _, rank, trace = failures[0]
    others = "".join(f"\nthen rank {r}: {t.strip().splitlines()[-1]}" for _, r, t in failures[1:])
    return f"rank {rank} failed first:\n{trace}{others}"


def rank_device() -> torch.device:
    """The device this rank computes on: its GPU with NCCL, the CPU with gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# --8<-- [end:spawn]


# --8<-- [start:scaling]
def ring_step_seconds(
    tokens_per_rank: int, width: int, flops_per_s: float, bytes_per_s: float, bytes_per_number: int = 2
) -> tuple[float, float]:
    """One step of the ring on paper: ``(compute, transfer)`` seconds for a rank's ``n`` queries against one
    block of ``n`` keys and values, where ``width`` is batch · heads · head_dim, the numbers of one token.

    The two products ``q kᵀ`` and ``p v`` take ``4 n² · width`` FLOPs at ``flops_per_s``; the next key and
    value blocks, ``2 n · width`` numbers of ``bytes_per_number`` bytes, cross a link of ``bytes_per_s``.

    >>> compute, transfer = ring_step_seconds(4096, 32 * 128, flops_per_s=500e12, bytes_per_s=450e9)
    >>> round(compute * 1e3, 3), round(transfer * 1e3, 3)
    (0.55, 0.149)
    """
    n = tokens_per_rank
    return 4 * n * n * width / flops_per_s, 2 * n * width * bytes_per_number / bytes_per_s


def overlap_threshold(flops_per_s: float, bytes_per_s: float, bytes_per_number: int = 2) -> float:
    """Tokens per rank from which a step computes for as long as its blocks travel, so that the transfer
    can hide behind the computation: ``n = bytes_per_number · F / (2 B)``, whatever the width.

    >>> round(overlap_threshold(500e12, 450e9)), round(overlap_threshold(500e12, 50e9))
    (1111, 10000)
    """
    return bytes_per_number * flops_per_s / (2 * bytes_per_s)


# --8<-- [end:scaling]


def compare_with_full_attention(
    tokens: int = 64,
    batch: int = 1,
    heads: int = 2,
    head_dim: int = 16,
    causal: bool = True,
    layout: str = "zigzag",
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    attention: Callable[..., torch.Tensor] | None = None,
) -> dict[str, float]:
    """On every rank of the current process group: the largest differences of ``attention``'s output
    and gradients (``ring_attention`` by default) from full attention (``F.scaled_dot_product_attention``)
    on the whole sequence.

    Every rank draws the same seeded sequence, keeps its shard, and runs forward and backward with
    the same upstream gradient; the whole sequence's output and gradients are gathered to compare.
    """
    size, rank, device = dist.get_world_size(), dist.get_rank(), rank_device()
    generator = torch.Generator().manual_seed(seed)
    q, k, v, grad = (torch.randn(batch, heads, tokens, head_dim, generator=generator, dtype=dtype) for _ in range(4))
    full = [t.to(device).requires_grad_() for t in (q, k, v)]
    expected = torch.nn.functional.scaled_dot_product_attention(full[0], full[1], full[2], is_causal=causal)
    expected.backward(grad.to(device))
    shards = [split_sequence(t.detach(), size, rank, layout).requires_grad_() for t in full]
    out = (attention or ring_attention)(shards[0], shards[1], shards[2], causal=causal, layout=layout)
    out.backward(split_sequence(grad.to(device), size, rank, layout))
    errors = {"output": (gather_sequence(out.detach(), layout=layout) - expected).abs().max().item()}
    for name, shard, whole in zip(("q", "k", "v"), shards, full, strict=True):
        errors[f"grad_{name}"] = (gather_sequence(_grad(shard), layout=layout) - _grad(whole)).abs().max().item()
    return errors


def time_ranks(
    tokens: int,
    sizes: tuple[int, int, int],
    causal: bool,
    layout: str,
    dtype: torch.dtype,
    repeats: int,
    warmup: int,
) -> dict[str, dict[str, float]]:
    """On every rank: median forward time, peak extra memory, bytes sent and largest error of
    ``ring_attention`` and ``all_gather_attention`` on this rank's shard of one seeded sequence
    (``sizes``: batch, heads, head_dim); what ``python -m attn_examples bench --ranks`` records."""
    from attn_examples.bench import median_seconds, peak_extra_memory

    size, rank, device = dist.get_world_size(), dist.get_rank(), rank_device()
    generator = torch.Generator().manual_seed(0)
    full = [torch.randn(sizes[0], sizes[1], tokens, sizes[2], generator=generator, dtype=dtype) for _ in range(3)]
    expected = split_sequence(
        torch.nn.functional.scaled_dot_product_attention(full[0], full[1], full[2], is_causal=causal),
        size,
        rank,
        layout,
    ).to(device)
    q, k, v = (split_sequence(t, size, rank, layout).to(device) for t in full)
    measured = {}
    for name, attention in (("ring_attention", ring_attention), ("all_gather_attention", all_gather_attention)):

        def run(attention: Callable[..., torch.Tensor] = attention) -> torch.Tensor:
            return attention(q, k, v, causal, layout=layout)

        dist.barrier()
        seconds = median_seconds({name: run}, repeats, warmup, device)[name]
        with count_sent_bytes() as sent:
            out = run()
        dist.barrier()
        measured[name] = {
            "ms": seconds * 1e3,
            "peak_bytes": float(peak_extra_memory(run, device)),
            "sent_bytes": float(sent.total),
            "error": (out.double() - expected.double()).abs().max().item(),
        }
    return measured


def _grad(x: torch.Tensor) -> torch.Tensor:
    if x.grad is None:
        raise RuntimeError("no gradient reached a tensor that the output depends on")
    return x.grad


def _check_layout(layout: object) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def _check_group(group: object) -> None:
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "attention across ranks needs torch.distributed initialised: start the processes with torchrun "
            "(and call dist.init_process_group), or run the function with attn_examples.ring.spawn"
        )
    if group is not None and not isinstance(group, dist.ProcessGroup):
        raise TypeError(f"group must be a torch.distributed ProcessGroup or None, got {type(group).__name__}")
    if dist.get_rank(group) < 0:
        raise ValueError("this process is not a member of group")


def _check_shards(
    q: object, k: object, v: object, causal: object = False, group: object = None, *, layout: object = "zigzag"
) -> None:
    q, k, v = check_qkv(q, k, v)
    if q.dim() != 4:
        raise ValueError(
            f"q, k and v must be this rank's shards (batch, heads, local_tokens, head_dim), got {tuple(q.shape)}"
        )
    if q.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"q, k and v must hold the same positions of one sequence, got {q.shape[-2]} queries and {k.shape[-2]} keys"
        )
    check_bool("causal", causal)
    _check_layout(layout)
    _check_group(group)


def _check_split(x: object, world_size: object, rank: object, layout: object = "zigzag") -> None:
    x = check_float_tensor(
        "x", x, shapes={2: "(tokens, features)", 3: "(batch, tokens, features)", 4: "(batch, heads, tokens, features)"}
    )
    size = check_positive_int("world_size", world_size)
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < size:
        raise ValueError(f"rank must be an int in 0..{size - 1}, got {rank!r}")
    _check_layout(layout)
    if x.shape[-2] < size:
        raise ValueError(f"x needs at least one token per rank, got {x.shape[-2]} tokens for {size} ranks")


def _check_ranges(tokens: object, world_size: object, layout: object = "zigzag") -> None:
    size = check_positive_int("world_size", world_size)
    if check_positive_int("tokens", tokens) < size:
        raise ValueError(f"tokens must be at least world_size (one token per rank), got {tokens} for {size} ranks")
    _check_layout(layout)


def _check_ring_bytes(
    tokens: object, world_size: object, sizes: object, dtype: object, layout: object = "zigzag"
) -> None:
    _check_ranges(tokens, world_size, layout)
    if not isinstance(sizes, tuple) or len(sizes) != 4:
        raise ValueError(f"sizes must be a tuple (batch, heads, d_k, d_v), got {sizes!r}")
    for name, n in zip(("batch", "heads", "d_k", "d_v"), sizes, strict=True):
        check_positive_int(name, n)
    check_float_dtype("dtype", dtype)


def _check_scores_per_rank(
    tokens: object, world_size: object, causal: object = True, layout: object = "zigzag"
) -> None:
    _check_ranges(tokens, world_size, layout)
    check_bool("causal", causal)


def _check_rates(flops_per_s: object, bytes_per_s: object, bytes_per_number: object = 2) -> None:
    for name, rate in (("flops_per_s", flops_per_s), ("bytes_per_s", bytes_per_s)):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf:
            raise ValueError(f"{name} must be a positive finite number, got {rate!r}")
    check_positive_int("bytes_per_number", bytes_per_number)


def _check_step(
    tokens_per_rank: object, width: object, flops_per_s: object, bytes_per_s: object, bytes_per_number: object = 2
) -> None:
    check_positive_int("tokens_per_rank", tokens_per_rank)
    check_positive_int("width", width)
    _check_rates(flops_per_s, bytes_per_s, bytes_per_number)


def _check_gather(shard: object, group: object = None, *, layout: object = "zigzag") -> None:
    check_float_tensor(
        "shard",
        shard,
        shapes={2: "(tokens, features)", 3: "(batch, tokens, features)", 4: "(batch, heads, tokens, features)"},
    )
    _check_layout(layout)
    _check_group(group)


def _check_spawn(fn: object, world_size: object, *args: object, timeout: object = 60.0, backend: object = None) -> None:
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {type(fn).__name__}")
    check_positive_int("world_size", world_size)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if backend not in (None, "gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo', 'nccl' or None (NCCL when there is a GPU per rank), got {backend!r}")


def _check_merge(out: object, lse: object, block_out: object, block_lse: object) -> None:
    out = check_float_tensor("out", out, shapes={n: "(..., tokens, d_v)" for n in range(2, 5)})
    block_out = check_float_tensor("block_out", block_out, shapes={out.dim(): "the shape of out"})
    if out.shape != block_out.shape:
        raise ValueError(f"out and block_out must have one shape, got {tuple(out.shape)} and {tuple(block_out.shape)}")
    for name, x in (("lse", lse), ("block_lse", block_lse)):
        x = check_float_tensor(name, x, shapes={out.dim() - 1: "out's shape without its last dimension"})
        if x.shape != out.shape[:-1]:
            raise ValueError(f"{name} must have shape {tuple(out.shape[:-1])}, got {tuple(x.shape)}")


shard_ranges = checked_by(_check_ranges, shard_ranges)
split_sequence = checked_by(_check_split, split_sequence)
merge_partial = checked_by(_check_merge, merge_partial)
ring_attention = checked_by(_check_shards, ring_attention)
all_gather_attention = checked_by(_check_shards, all_gather_attention)
gather_sequence = checked_by(_check_gather, gather_sequence)
spawn = checked_by(_check_spawn, spawn)
ring_bytes = checked_by(_check_ring_bytes, ring_bytes)
ring_step_seconds = checked_by(_check_step, ring_step_seconds)
overlap_threshold = checked_by(_check_rates, overlap_threshold)
scores_per_rank = checked_by(_check_scores_per_rank, scores_per_rank)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "attention-across-devices"


def _one_rank(device: torch.device, dtype: torch.dtype) -> Outputs:
    """The ring's computation on a single rank: no process group, the two zig-zag pieces merged by log-sum-exp."""
    q, k, v, grad_out = torch.randn(4, 1, 2, 40, 16, generator=torch.Generator().manual_seed(0)).unbind(0)
    ring = _Ring(None, 0, 1, shard_ranges(40, 1, "zigzag"))
    fn = lambda q, k, v: _RingAttention.apply(q, k, v, True, 0.25, ring)  # noqa: E731
    return kernel_outputs(fn, *(moved(t, device, dtype) for t in (q, k, v, grad_out)))


AGREEMENT = (Example(CHAPTER, "ring attention on one rank, causal, two zig-zag pieces", _one_rank),)

# the figure "scaling": a Llama-style layer for one sequence (32 heads of 128) in bfloat16, computed at
# 500 TFLOP/s, its blocks sent over the links of H100 machines
WIDTH, FLOPS_PER_S = 32 * 128, 500e12
LINKS = {"NVLink": 450e9, "InfiniBand": 50e9}


def _scaling_figure() -> Lines:
    """Compute and transfer time of one ring step against the tokens per rank, on paper."""
    tokens = [2**i for i in range(8, 18)]
    lines = {"4n²w / F": [ring_step_seconds(n, WIDTH, FLOPS_PER_S, 1.0)[0] * 1e3 for n in tokens]}
    for link, rate in LINKS.items():
        lines[f"4nw / B ({link})"] = [ring_step_seconds(n, WIDTH, FLOPS_PER_S, rate)[1] * 1e3 for n in tokens]
    return Lines(tokens, lines, log=True)


FIGURES = {"scaling": _scaling_figure}


def main(argv: list[str] | None = None) -> int:
    """``torchrun --nproc-per-node P -m attn_examples.ring``: every process checks ring attention, forward and
    backward, against full attention on the whole sequence and prints its largest differences."""
    import argparse

    parser = argparse.ArgumentParser(prog="torchrun --nproc-per-node P -m attn_examples.ring", description=main.__doc__)
    parser.add_argument("--tokens", type=int, default=1000, help="length of the whole sequence")
    parser.add_argument("--layout", default="zigzag", choices=LAYOUTS)
    parser.add_argument("--full", action="store_true", help="no causal mask")
    args = parser.parse_args(argv)
    if "RANK" not in os.environ:
        parser.error("start it with torchrun (it sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=60))
    try:
        errors = compare_with_full_attention(args.tokens, causal=not args.full, layout=args.layout)
        shown = ", ".join(f"{name} {error:.1e}" for name, error in errors.items())
        print(f"rank {dist.get_rank()} of {dist.get_world_size()} ({backend}): largest differences {shown}")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
