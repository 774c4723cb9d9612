"""A FlashAttention-style Triton kernel, forward and backward: the chapter "efficient-attention".

Needs the optional extra ``triton`` (``pip install "attn-examples[triton]"``).
On a machine without CUDA the kernels can run in Triton's interpreter on CPU
tensors: slow, but the same code, which is how CI checks it. Triton reads
``TRITON_INTERPRET=1`` when a kernel is defined, that is when this module is
imported, so it must be set before (the test configuration sets it; this module
changes no environment variable).
"""

from __future__ import annotations

try:
    import triton
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError('attn_examples.triton_flash needs Triton: pip install "attn-examples[triton]"') from error

# --8<-- [start:imports]
import math
import os

import torch
import triton
import triton.language as tl

# --8<-- [end:imports]
# isort: split

from attn_examples._checks import (
    check_bool,
    check_float_tensor,
    check_positive_int,
    check_qkv,
    check_scale,
    checked_by,
)

HEAD_DIMS = (16, 32, 64, 128)
KERNEL_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


# --8<-- [start:forward_kernel]
@triton.jit
def _forward_kernel(
    Q,
    K,
    V,
    O,  # noqa: E741  the output, named like Q, K and V
    LSE,  # pointers; Q, K, V, O are (batch, heads, tokens, HEAD_DIM), LSE is (batch·heads, T_Q)
    scale,
    heads,
    T_Q,
    T_K,
    stride_qb,
    stride_qh,
    stride_qt,
    stride_kb,
    stride_kh,
    stride_kt,
    stride_vb,
    stride_vh,
    stride_vt,
    stride_ob,
    stride_oh,
    stride_ot,
    HEAD_DIM: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    CAUSAL: tl.constexpr,
    UPCAST: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # 1. which tile: BLOCK_Q queries of one (batch, head)
    start_q = tl.program_id(0) * BLOCK_Q
    bh = tl.program_id(1)
    b, h = bh // heads, bh % heads
    rows = start_q + tl.arange(0, BLOCK_Q)
    dims = tl.arange(0, HEAD_DIM)
    cols0 = tl.arange(0, BLOCK_K)
    q_base, k_base, v_base = (
        Q + b * stride_qb + h * stride_qh,
        K + b * stride_kb + h * stride_kh,
        V + b * stride_vb + h * stride_vh,
    )

    # 2. load the query tile once; rows past T_Q (the ragged last tile) read zeros
    q = tl.load(q_base + rows[:, None] * stride_qt + dims[None, :], mask=rows[:, None] < T_Q, other=0.0)
    if UPCAST:
        q = q.to(tl.float32)

    # 3. running maximum, running sum and unnormalised output, in float32
    m_i = tl.full([BLOCK_Q], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_Q], dtype=tl.float32)
    acc = tl.zeros([BLOCK_Q, HEAD_DIM], dtype=tl.float32)

    # 4. walk over key tiles; with a causal mask, stop after the tile holding the last query
    stop = T_K
    if CAUSAL:
        stop = tl.minimum(T_K, start_q + BLOCK_Q)
    for start_k in range(0, stop, BLOCK_K):
        cols = start_k + cols0
        k_t = tl.load(k_base + cols[None, :] * stride_kt + dims[:, None], mask=cols[None, :] < T_K, other=0.0)
        v = tl.load(v_base + cols[:, None] * stride_vt + dims[None, :], mask=cols[:, None] < T_K, other=0.0)
        if UPCAST:
            k_t, v = k_t.to(tl.float32), v.to(tl.float32)
        s = tl.dot(q, k_t, input_precision=PRECISION) * scale
        keep = cols[None, :] < T_K
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None])
        s = tl.where(keep, s, float("-inf"))
        # 5. the online softmax update
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        shift = tl.where(m_new == float("-inf"), 0.0, m_new)  # all −∞ so far: no −∞ − (−∞) = NaN
        p = tl.exp(s - shift[:, None])
        correction = tl.exp(m_i - shift)
        l_i = l_i * correction + tl.sum(p, axis=1)
        acc = acc * correction[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
        m_i = m_new

    # 6. normalise, store the output and the log-sum-exp the backward pass needs
    acc = acc / l_i[:, None]
    tl.store(
        O + b * stride_ob + h * stride_oh + rows[:, None] * stride_ot + dims[None, :],
        acc.to(O.dtype.element_ty),
        mask=rows[:, None] < T_Q,
    )
    tl.store(LSE + bh * T_Q + rows, m_i + tl.log(l_i), mask=rows < T_Q)


# --8<-- [end:forward_kernel]


# --8<-- [start:backward_kernels]
@triton.jit
def _tile_weights(q, k_t, lse, rows, cols, scale, T_Q, T_K, CAUSAL: tl.constexpr, PRECISION: tl.constexpr):
    """The softmax weights of one tile, recomputed from the saved log-sum-exp; zero where masked."""
    s = tl.dot(q, k_t, input_precision=PRECISION) * scale
    keep = (rows[:, None] < T_Q) & (cols[None, :] < T_K)
    if CAUSAL:
        keep = keep & (cols[None, :] <= rows[:, None])
    return tl.where(keep, tl.exp(s - lse[:, None]), 0.0)


@triton.jit
def _query_tile(Q, DO, LSE, DELTA, bh, rows, dims, T_Q, HEAD_DIM: tl.constexpr, UPCAST: tl.constexpr):
    """Queries, output gradients, log-sum-exp and D of the rows ``rows`` (zeros past T_Q)."""
    offsets = bh * T_Q * HEAD_DIM + rows[:, None] * HEAD_DIM + dims[None, :]
    q = tl.load(Q + offsets, mask=rows[:, None] < T_Q, other=0.0)
    do = tl.load(DO + offsets, mask=rows[:, None] < T_Q, other=0.0)
    lse = tl.load(LSE + bh * T_Q + rows, mask=rows < T_Q, other=0.0)
    delta = tl.load(DELTA + bh * T_Q + rows, mask=rows < T_Q, other=0.0)
    if UPCAST:
        q, do = q.to(tl.float32), do.to(tl.float32)
    return q, do, lse, delta


@triton.jit
def _key_tile(K, V, bh, cols, dims, T_K, HEAD_DIM: tl.constexpr, UPCAST: tl.constexpr):
    """Keys and values of the columns ``cols``, transposed to (HEAD_DIM, BLOCK_K) (zeros past T_K)."""
    offsets = bh * T_K * HEAD_DIM + cols[None, :] * HEAD_DIM + dims[:, None]
    k_t = tl.load(K + offsets, mask=cols[None, :] < T_K, other=0.0)
    v_t = tl.load(V + offsets, mask=cols[None, :] < T_K, other=0.0)
    if UPCAST:
        k_t, v_t = k_t.to(tl.float32), v_t.to(tl.float32)
    return k_t, v_t


@triton.jit
def _backward_dkdv_kernel(
    Q,
    K,
    V,
    DO,
    LSE,
    DELTA,
    DK,
    DV,  # all (batch·heads, tokens, HEAD_DIM) contiguous, LSE/DELTA (batch·heads, T_Q)
    scale,
    T_Q,
    T_K,
    HEAD_DIM: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    CAUSAL: tl.constexpr,
    UPCAST: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # one program owns BLOCK_K keys and sums their gradients over every query tile
    bh = tl.program_id(1)
    start_k = tl.program_id(0) * BLOCK_K
    cols = start_k + tl.arange(0, BLOCK_K)
    dims = tl.arange(0, HEAD_DIM)
    k_t, v_t = _key_tile(K, V, bh, cols, dims, T_K, HEAD_DIM, UPCAST)
    dk = tl.zeros([BLOCK_K, HEAD_DIM], dtype=tl.float32)
    dv = tl.zeros([BLOCK_K, HEAD_DIM], dtype=tl.float32)
    # with a causal mask, queries before these keys never see them
    start = 0
    if CAUSAL:
        start = (start_k // BLOCK_Q) * BLOCK_Q
    for start_q in range(start, T_Q, BLOCK_Q):
        rows = start_q + tl.arange(0, BLOCK_Q)
        q, do, lse, delta = _query_tile(Q, DO, LSE, DELTA, bh, rows, dims, T_Q, HEAD_DIM, UPCAST)
        p = _tile_weights(q, k_t, lse, rows, cols, scale, T_Q, T_K, CAUSAL, PRECISION)
        dv += tl.dot(tl.trans(p).to(do.dtype), do, input_precision=PRECISION)  # dV = Aᵀ dZ
        dp = tl.dot(do, v_t, input_precision=PRECISION)  # dA = dZ Vᵀ
        ds = p * (dp - delta[:, None]) * scale  # softmax backward, times the score scale
        dk += tl.dot(tl.trans(ds).to(q.dtype), q, input_precision=PRECISION)  # dK = dΩᵀ Q
    out = bh * T_K * HEAD_DIM + cols[:, None] * HEAD_DIM + dims[None, :]
    tl.store(DK + out, dk.to(DK.dtype.element_ty), mask=cols[:, None] < T_K)
    tl.store(DV + out, dv.to(DV.dtype.element_ty), mask=cols[:, None] < T_K)


@triton.jit
def _backward_dq_kernel(
    Q,
    K,
    V,
    DO,
    LSE,
    DELTA,
    DQ,
    scale,
    T_Q,
    T_K,
    HEAD_DIM: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    CAUSAL: tl.constexpr,
    UPCAST: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # one program owns BLOCK_Q queries and sums dQ = dΩ K over the key tiles they see
    bh = tl.program_id(1)
    start_q = tl.program_id(0) * BLOCK_Q
    rows = start_q + tl.arange(0, BLOCK_Q)
    dims = tl.arange(0, HEAD_DIM)
    q, do, lse, delta = _query_tile(Q, DO, LSE, DELTA, bh, rows, dims, T_Q, HEAD_DIM, UPCAST)
    dq = tl.zeros([BLOCK_Q, HEAD_DIM], dtype=tl.float32)
    stop = T_K
    if CAUSAL:
        stop = tl.minimum(T_K, start_q + BLOCK_Q)
    for start_k in range(0, stop, BLOCK_K):
        cols = start_k + tl.arange(0, BLOCK_K)
        k_t, v_t = _key_tile(K, V, bh, cols, dims, T_K, HEAD_DIM, UPCAST)
        p = _tile_weights(q, k_t, lse, rows, cols, scale, T_Q, T_K, CAUSAL, PRECISION)
        dp = tl.dot(do, v_t, input_precision=PRECISION)
        ds = p * (dp - delta[:, None]) * scale
        dq += tl.dot(ds.to(k_t.dtype), tl.trans(k_t), input_precision=PRECISION)
    tl.store(
        DQ + bh * T_Q * HEAD_DIM + rows[:, None] * HEAD_DIM + dims[None, :],
        dq.to(DQ.dtype.element_ty),
        mask=rows[:, None] < T_Q,
    )


# --8<-- [end:backward_kernels]


# --8<-- [start:api]
# Triton chose when the kernels above were defined: the environment as this module was imported
_INTERPRETING = os.environ.get("TRITON_INTERPRET") == "1"


def interpreting() -> bool:
    """Whether the kernels run in Triton's CPU interpreter (``TRITON_INTERPRET=1`` when this module was imported).

    >>> interpreting() == (default_triton_device().type == "cpu")
    True
    """
    return _INTERPRETING


def default_triton_device() -> torch.device:
    """The device whose tensors the kernels take: the CPU in the interpreter, else CUDA.

    Without either, a ``RuntimeError`` says how to turn the interpreter on.

    >>> default_triton_device().type == ("cpu" if interpreting() else "cuda")
    True
    """
    if interpreting():
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    raise RuntimeError(
        "the Triton kernels need a CUDA device, or Triton's interpreter on the CPU: set TRITON_INTERPRET=1 "
        "before the kernels are defined (e.g. TRITON_INTERPRET=1 python script.py)"
    )


def _launch_options(q: torch.Tensor, block_q: int | None, block_k: int | None, backward: bool) -> dict[str, object]:
    """Tile sizes and launch settings: small tiles in the interpreter, GPU-sized ones on CUDA."""
    head_dim = q.shape[-1]
    if interpreting():
        default_m, default_n, launch = 32, 32, {}
    elif backward:
        default_m, default_n, launch = 64, 64, {"num_warps": 4 if head_dim <= 64 else 8, "num_stages": 2}
    else:
        default_m, default_n = 128, 64
        launch = {"num_warps": 4 if head_dim <= 64 else 8, "num_stages": 3 if head_dim <= 64 else 2}
    return {
        "HEAD_DIM": head_dim,
        "BLOCK_Q": block_q or default_m,
        "BLOCK_K": block_k or default_n,
        # the interpreter's bfloat16 dot products are wrong: upcast there, keep bf16 on the GPU
        "UPCAST": interpreting() and q.dtype == torch.bfloat16,
        # float32 inputs get IEEE float32 products, not TF32 (which keeps 10 mantissa bits)
        "PRECISION": "ieee" if q.dtype == torch.float32 else "tf32",
        **launch,
    }


def _forward(q, k, v, causal: bool, scale: float, block_q, block_k):
    batch, heads, t_q, _ = q.shape
    t_k = k.shape[-2]
    opts = _launch_options(q, block_q, block_k, backward=False)
    out = torch.empty_like(q)
    lse = torch.empty(batch * heads, t_q, dtype=torch.float32, device=q.device)
    grid = (triton.cdiv(t_q, opts["BLOCK_Q"]), batch * heads)
    _forward_kernel[grid](
        q,
        k,
        v,
        out,
        lse,
        scale,
        heads,
        t_q,
        t_k,
        *q.stride()[:3],
        *k.stride()[:3],
        *v.stride()[:3],
        *out.stride()[:3],
        CAUSAL=causal,
        **opts,
    )
    return out, lse


def _backward(q, k, v, out, lse, grad_out, causal: bool, scale: float, block_q, block_k):
    batch, heads, t_q, _ = q.shape
    t_k = k.shape[-2]
    opts = _launch_options(q, block_q, block_k, backward=True)
    q, k, v, grad_out = (t.contiguous() for t in (q, k, v, grad_out))
    delta = (grad_out.float() * out.float()).sum(dim=-1).reshape(batch * heads, t_q)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    bh = batch * heads
    _backward_dkdv_kernel[(triton.cdiv(t_k, opts["BLOCK_K"]), bh)](
        q, k, v, grad_out, lse, delta, dk, dv, scale, t_q, t_k, CAUSAL=causal, **opts
    )
    _backward_dq_kernel[(triton.cdiv(t_q, opts["BLOCK_Q"]), bh)](
        q, k, v, grad_out, lse, delta, dq, scale, t_q, t_k, CAUSAL=causal, **opts
    )
    return dq, dk, dv


class _TritonFlashAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, causal: bool, scale: float, block_q, block_k):
        out, lse = _forward(q, k, v, causal, scale, block_q, block_k)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.config = (causal, scale, block_q, block_k)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, out, lse = ctx.saved_tensors
        return (*_backward(q, k, v, out, lse, grad_out, *ctx.config), None, None, None, None)


def triton_flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    scale: float | None = None,
    block_q: int | None = None,
    block_k: int | None = None,
) -> torch.Tensor:
    """FlashAttention forward and backward as Triton kernels, for ``(batch, heads, tokens, head_dim)``.

    ``q`` is ``(batch, heads, tokens_q, head_dim)``, ``k`` and ``v`` are
    ``(batch, heads, tokens_k, head_dim)``; ``head_dim`` (d_k = d_v) is 16,
    32, 64 or 128; float16, bfloat16 or float32. Any number of tokens: the
    last tile is masked. ``causal=True`` aligns the mask top-left, as PyTorch
    does. On CUDA the kernels run on the GPU; without CUDA, in Triton's
    interpreter on CPU tensors. ``block_q`` and ``block_k`` (powers of two, at
    least 16) override the tile sizes.

    >>> q, k, v = torch.randn(3, 1, 2, 40, 16, generator=torch.Generator().manual_seed(0)).unbind(0)
    >>> expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> q, k, v = (t.to(default_triton_device()) for t in (q, k, v))
    >>> out = triton_flash_attention(q, k, v, causal=True)
    >>> torch.allclose(out.cpu(), expected, atol=1e-5)
    True
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    q, k, v = (t.contiguous() for t in (q, k, v))
    return _TritonFlashAttention.apply(q, k, v, causal, scale, block_q, block_k)


# --8<-- [end:api]


# The public names check their input first (attn_examples._checks.checked_by); the listings above,
# which the page shows, hold the computation alone.
def _check_triton_device() -> None:
    if not interpreting() and not torch.cuda.is_available():
        raise RuntimeError(
            "the Triton kernels need a CUDA device, or Triton's interpreter on the CPU: set TRITON_INTERPRET=1 "
            "before attn_examples.triton_flash is imported (e.g. TRITON_INTERPRET=1 python script.py)"
        )


def _check_triton_flash_attention(
    q: object,
    k: object,
    v: object,
    *,
    causal: object = False,
    scale: object = None,
    block_q: object = None,
    block_k: object = None,
) -> None:
    check_float_tensor("q", q, shapes={4: "(batch, heads, tokens, head_dim)"})
    q, k, v = check_qkv(q, k, v)
    if q.dtype not in KERNEL_DTYPES:
        raise TypeError(f"the Triton kernels take float16, bfloat16 or float32, got {q.dtype}")
    if q.shape[-1] not in HEAD_DIMS or v.shape[-1] != q.shape[-1]:
        raise ValueError(f"q, k and v must share head_dim, one of {HEAD_DIMS}; got {q.shape[-1]} and {v.shape[-1]}")
    expected_device = default_triton_device()
    if q.device.type != expected_device.type:
        raise ValueError(f"the kernels run on {expected_device.type} tensors here, got tensors on {q.device}")
    for name, block in (("block_q", block_q), ("block_k", block_k)):
        if block is not None and ((size := check_positive_int(name, block)) < 16 or size & (size - 1)):
            raise ValueError(f"{name} must be a power of two of at least 16, got {block}")
    check_bool("causal", causal)
    check_scale(scale, q.shape[-1])


default_triton_device = checked_by(_check_triton_device, default_triton_device)
triton_flash_attention = checked_by(_check_triton_flash_attention, triton_flash_attention)
