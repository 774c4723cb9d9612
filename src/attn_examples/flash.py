"""Attention tile by tile with the online softmax: the chapter "efficient-attention".

Plain attention builds the whole ``(tokens_q, tokens_k)`` score matrix, so its
memory grows as T². FlashAttention never does: it walks over blocks of keys,
keeps for every query a running maximum ``m`` and a running sum ``ℓ`` of the
exponentials seen so far, and rescales what it has accumulated whenever the
maximum grows. The result is exact, and the extra memory is O(T·d).
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from dataclasses import dataclass

import torch

# --8<-- [end:imports]
# isort: split
import importlib.util

import torch.nn.functional as F

from attn_examples._checks import (
    check_bool,
    check_float_tensor,
    check_positive_int,
    check_qkv,
    check_scale,
    checked_by,
)
from attn_examples.causal import causal_mask
from attn_examples.chapters import Example, Heatmap, Outputs, kernel_outputs, moved, positions


# --8<-- [start:online_softmax]
@dataclass(frozen=True)
class OnlineSoftmaxStep:
    """What the online softmax knows after reading one block of scores."""

    block: tuple[float, ...]
    running_max: float
    running_sum: float


def online_softmax(scores: torch.Tensor, block_size: int) -> tuple[torch.Tensor, list[OnlineSoftmaxStep]]:
    """Softmax of a 1-D ``scores`` read ``block_size`` values at a time, with its steps.

    After each block the running sum is ``Σ_j exp(ω_j − m)`` over every
    score ``ω_j`` read so far, with ``m`` their maximum: when a block raises
    the maximum, the old sum is multiplied by ``exp(m_old − m_new)``. While
    every score read is −∞ (a masked block), the shift is 0 rather than −∞,
    as in PyTorch's kernels, so that no ``−∞ − (−∞)`` turns the sum into
    NaN; if all scores are −∞ the result is NaN, as ``torch.softmax`` gives.

    >>> p, steps = online_softmax(torch.tensor([1.0, 3.0, 2.0, 5.0]), block_size=2)
    >>> [(s.running_max, round(s.running_sum, 4)) for s in steps]
    [(3.0, 1.1353), (5.0, 1.2034)]
    >>> torch.allclose(p, torch.softmax(torch.tensor([1.0, 3.0, 2.0, 5.0]), dim=0))
    True
    >>> online_softmax(torch.tensor([float("-inf"), float("-inf"), 0.0, 0.0]), block_size=2)[0]
    tensor([0.0000, 0.0000, 0.5000, 0.5000])
    """
    m = torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device)
    running_sum = torch.zeros((), dtype=scores.dtype, device=scores.device)
    steps = []
    for start in range(0, scores.numel(), block_size):
        block = scores[start : start + block_size]
        m_new = torch.maximum(m, block.max())
        shift = _finite_or_zero(m_new)  # all −∞ so far: exp(−∞ − 0) = 0, where exp(−∞ + ∞) is NaN
        running_sum = running_sum * torch.exp(m - shift) + torch.exp(block - shift).sum()
        m = m_new
        steps.append(OnlineSoftmaxStep(tuple(block.tolist()), m.item(), running_sum.item()))
    return torch.exp(scores - _finite_or_zero(m)) / running_sum, steps


def _finite_or_zero(running_max: torch.Tensor) -> torch.Tensor:
    """The running maximum to subtract before ``exp``: 0 where it is still −∞."""
    return torch.where(torch.isneginf(running_max), 0.0, running_max)


# --8<-- [end:online_softmax]


# --8<-- [start:forward]
def _flash_forward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float, block_q: int, block_k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Output and per-query log-sum-exp of the scores, one (query block, key block) tile at a time."""
    acc_dtype = torch.promote_types(q.dtype, torch.float32)  # float16, bfloat16: float32, as GPU kernels do
    t_q, t_k = q.shape[-2], k.shape[-2]
    out = torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype, device=q.device)
    lse = torch.empty(q.shape[:-1], dtype=acc_dtype, device=q.device)
    for q0 in range(0, t_q, block_q):
        q1 = min(q0 + block_q, t_q)
        q_tile = q[..., q0:q1, :].to(acc_dtype) * scale
        m = torch.full(q_tile.shape[:-1], float("-inf"), dtype=acc_dtype, device=q.device)
        row_sum = torch.zeros_like(m)
        acc = torch.zeros(*q_tile.shape[:-1], v.shape[-1], dtype=acc_dtype, device=q.device)
        # with a causal mask, key blocks that start after the last query of this block are all masked
        k_stop = min(t_k, q1) if causal else t_k
        for k0 in range(0, k_stop, block_k):
            k1 = min(k0 + block_k, k_stop)
            s = q_tile @ k[..., k0:k1, :].to(acc_dtype).transpose(-2, -1)
            if causal and k1 - 1 > q0:  # the tile crosses the diagonal
                rows = torch.arange(q0, q1, device=q.device)[:, None]
                cols = torch.arange(k0, k1, device=q.device)[None, :]
                s.masked_fill_(cols > rows, float("-inf"))
            m_new = torch.maximum(m, s.amax(dim=-1))
            shift = _finite_or_zero(m_new)  # a row whose scores so far are all −∞ must not give NaN
            p = s.sub_(shift[..., None]).exp_()  # in place: one tile-sized buffer per step
            correction = torch.exp(m - shift)  # rescales what was summed under the old maximum
            row_sum = row_sum * correction + p.sum(dim=-1)
            acc = acc * correction[..., None] + p @ v[..., k0:k1, :].to(acc_dtype)
            m = m_new
        out[..., q0:q1, :] = (acc / row_sum[..., None]).to(q.dtype)
        lse[..., q0:q1] = m + torch.log(row_sum)
    return out, lse


# --8<-- [end:forward]


# --8<-- [start:backward]
def _flash_backward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    out: torch.Tensor,
    lse: torch.Tensor,
    grad_out: torch.Tensor,
    causal: bool,
    scale: float,
    block_q: int,
    block_k: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of q, k and v, recomputing each tile's weights from the saved log-sum-exp."""
    acc_dtype = lse.dtype
    q_, k_, v_, do = (t.to(acc_dtype) for t in (q, k, v, grad_out))
    # D_i = Σ_j α_ij dα_ij = Σ_c dZ_ic Z_ic: the row term of the softmax Jacobian, without A
    delta = (do * out.to(acc_dtype)).sum(dim=-1)
    dq, dk, dv = torch.zeros_like(q_), torch.zeros_like(k_), torch.zeros_like(v_)
    t_q, t_k = q.shape[-2], k.shape[-2]
    for q0 in range(0, t_q, block_q):
        q1 = min(q0 + block_q, t_q)
        k_stop = min(t_k, q1) if causal else t_k
        for k0 in range(0, k_stop, block_k):
            k1 = min(k0 + block_k, k_stop)
            s = q_[..., q0:q1, :] @ k_[..., k0:k1, :].transpose(-2, -1) * scale
            if causal and k1 - 1 > q0:
                rows = torch.arange(q0, q1, device=q.device)[:, None]
                cols = torch.arange(k0, k1, device=q.device)[None, :]
                s = s.masked_fill(cols > rows, float("-inf"))
            p = torch.exp(s - lse[..., q0:q1, None])
            dv[..., k0:k1, :] += p.transpose(-2, -1) @ do[..., q0:q1, :]
            dp = do[..., q0:q1, :] @ v_[..., k0:k1, :].transpose(-2, -1)
            ds = p * (dp - delta[..., q0:q1, None]) * scale
            dq[..., q0:q1, :] += ds @ k_[..., k0:k1, :]
            dk[..., k0:k1, :] += ds.transpose(-2, -1) @ q_[..., q0:q1, :]
    return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype)


# --8<-- [end:backward]


# --8<-- [start:flash_attention]
class _FlashAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, causal: bool, scale: float, block_q: int, block_k: int):
        out, lse = _flash_forward(q, k, v, causal, scale, block_q, block_k)
        ctx.save_for_backward(q, k, v, out, lse)  # O(T·(d_k + d_v)): no (T, T) matrix is kept
        ctx.config = (causal, scale, block_q, block_k)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, out, lse = ctx.saved_tensors
        return (*_flash_backward(q, k, v, out, lse, grad_out, *ctx.config), None, None, None, None)


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    scale: float | None = None,
    block_q: int = 64,
    block_k: int = 64,
) -> torch.Tensor:
    """Exact attention ``softmax(q kᵀ · scale) v`` computed in tiles, never storing the score matrix.

    Shapes are those of ``F.scaled_dot_product_attention``: ``q`` is
    ``(..., tokens_q, d_k)``, ``k`` ``(..., tokens_k, d_k)``, ``v``
    ``(..., tokens_k, d_v)``, with up to two leading dimensions (batch,
    heads). ``scale`` defaults to ``1/√d_k``. With ``causal=True`` query ``i``
    sees keys ``0..i`` (the mask is aligned top-left, as in PyTorch). The
    backward pass recomputes each tile instead of saving it.

    >>> q, k, v = torch.randn(3, 2, 10, 8, generator=torch.Generator().manual_seed(0)).unbind(0)
    >>> expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> torch.allclose(flash_attention(q, k, v, causal=True, block_q=4, block_k=3), expected, atol=1e-6)
    True
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return _FlashAttention.apply(q, k, v, causal, scale, block_q, block_k)


# --8<-- [end:flash_attention]


# --8<-- [start:chunked]
def chunked_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    scale: float | None = None,
    max_scores: int = 2**22,
) -> torch.Tensor:
    """Plain attention, one (batch, head) slice and one chunk of queries at a time.

    Each chunk keeps whole rows of scores, so an ordinary softmax works; the
    chunk is sized to hold at most ``max_scores`` scores, which keeps it in
    the processor's cache instead of building the full ``(tokens, tokens)``
    matrix for every head at once. With ``causal=True`` a chunk skips the keys
    after its last query. It bounds the memory of the forward pass only: its
    backward pass is autograd's, which keeps the weights of every chunk.

    >>> q, k, v = torch.randn(3, 2, 10, 8, generator=torch.Generator().manual_seed(0)).unbind(0)
    >>> expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> torch.allclose(chunked_attention(q, k, v, causal=True, max_scores=30), expected, atol=1e-6)
    True
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    wide = torch.promote_types(q.dtype, torch.float32)  # float16 and bfloat16 become float32
    t_q, t_k = q.shape[-2], k.shape[-2]
    rows = max(1, min(t_q, max_scores // t_k))
    if causal:  # smaller chunks skip more of the masked upper triangle
        rows = min(rows, max(256, -(-t_q // 4)))
    future = torch.ones(t_q, t_k, dtype=torch.bool, device=q.device).triu(diagonal=1) if causal else None
    heads = []
    for q_h, k_h, v_h in zip(*(t.reshape(-1, *t.shape[-2:]) for t in (q, k, v)), strict=True):
        chunks = []
        for q0 in range(0, t_q, rows):
            q1 = min(q0 + rows, t_q)
            k_stop = min(q1, t_k) if causal else t_k
            # scores and softmax in float32 for half-precision inputs, as PyTorch computes them
            s = (q_h[q0:q1].to(wide) * scale) @ k_h[:k_stop].to(wide).T
            if future is not None:
                s = s.masked_fill(future[q0:q1, :k_stop], float("-inf"))
            chunks.append((torch.softmax(s, dim=-1) @ v_h[:k_stop].to(wide)).to(v.dtype))
        heads.append(torch.cat(chunks))
    return torch.stack(heads).reshape(*q.shape[:-1], v.shape[-1])


# --8<-- [end:chunked]


# The public names check their input first (attn_examples._checks.checked_by); the listings above,
# which the page shows, hold the computation alone. The loops over tiles call the private, unchecked
# _flash_forward, _flash_backward and _finite_or_zero: the checks run once per call of the public function.
def _check_online_softmax(scores: object, block_size: object) -> None:
    scores = check_float_tensor("scores", scores, shapes={1: "(tokens,)"})
    if scores.is_meta:
        raise ValueError("scores must hold numbers, not be a meta tensor: online_softmax records each step's values")
    check_positive_int("block_size", block_size)


def _check_flash_attention(
    q: object,
    k: object,
    v: object,
    *,
    causal: object = False,
    scale: object = None,
    block_q: object = 64,
    block_k: object = 64,
) -> None:
    q, k, v = check_qkv(q, k, v)
    check_scale(scale, q.shape[-1])
    check_positive_int("block_q", block_q)
    check_positive_int("block_k", block_k)
    check_bool("causal", causal)


def _check_chunked_attention(
    q: object,
    k: object,
    v: object,
    *,
    causal: object = False,
    scale: object = None,
    max_scores: object = 2**22,
) -> None:
    q, k, v = check_qkv(q, k, v)
    check_scale(scale, q.shape[-1])
    check_positive_int("max_scores", max_scores)
    check_bool("causal", causal)


online_softmax = checked_by(_check_online_softmax, online_softmax)
flash_attention = checked_by(_check_flash_attention, flash_attention)
chunked_attention = checked_by(_check_chunked_attention, chunked_attention)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "efficient-attention"


def _qkv(device: torch.device, dtype: torch.dtype) -> list[torch.Tensor]:
    """q, k, v of shape (1, 2, 40, 16) and an output gradient, drawn on the CPU from seed 0."""
    q, k, v, grad_out = torch.randn(4, 1, 2, 40, 16, generator=torch.Generator().manual_seed(0)).unbind(0)
    return [moved(t, device, dtype) for t in (q, k, v, grad_out)]


def _flash(device: torch.device, dtype: torch.dtype) -> Outputs:
    fn = lambda q, k, v: flash_attention(q, k, v, causal=True, block_q=16, block_k=16)  # noqa: E731
    return kernel_outputs(fn, *_qkv(device, dtype))


def _chunked(device: torch.device, dtype: torch.dtype) -> Outputs:
    fn = lambda q, k, v: chunked_attention(q, k, v, causal=True, max_scores=100)  # noqa: E731
    return kernel_outputs(fn, *_qkv(device, dtype))


def _triton(device: torch.device, dtype: torch.dtype) -> Outputs:
    from attn_examples.triton_flash import triton_flash_attention  # imported only where CUDA runs it

    fn = lambda q, k, v: triton_flash_attention(q, k, v, causal=True, block_q=16, block_k=16)  # noqa: E731
    return kernel_outputs(fn, *_qkv(device, dtype))


def _sdpa_reference(device: torch.device, dtype: torch.dtype) -> Outputs:
    return kernel_outputs(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), *_qkv(device, dtype))


def _triton_requires(device: torch.device) -> str | None:
    if device.type != "cuda":
        return "needs CUDA"
    if importlib.util.find_spec("triton") is None:
        return 'needs Triton (pip install "attn-examples[triton]")'
    return None


AGREEMENT = (
    Example(CHAPTER, "flash_attention, causal, 16×16 tiles", _flash),
    Example(CHAPTER, "chunked_attention, causal", _chunked),
    Example(
        CHAPTER,
        "triton_flash_attention, causal, 16×16 tiles",
        _triton,
        note="float16/bfloat16/float32 kernel on CUDA only; compared with PyTorch's SDPA on the CPU",
        float64=False,
        reference=_sdpa_reference,
        requires=_triton_requires,
    ),
)


def _tiles_figure() -> Heatmap:
    tokens, tile = 12, 4
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, tokens, 8, generator=generator, dtype=torch.float64).unbind(0)
    scores = q @ k.T / math.sqrt(8)
    weights = torch.zeros(tokens, tokens, dtype=torch.float64)
    for row in range(tokens):  # each row's visible scores, read one tile of keys at a time
        weights[row, : row + 1] = online_softmax(scores[row, : row + 1], block_size=tile)[0]
    return Heatmap(weights, positions(tokens), hidden=~causal_mask(tokens), tiles=(tile, tile), annotate=False)


FIGURES = {"tiles": _tiles_figure}
