"""The backward pass of self-attention by hand, and weight initialisation: the chapter "backward-pass".

The forward pass of one head is written as explicit steps that keep every
intermediate; the backward pass then walks them in reverse with the chain
rule. Everything is checked against autograd in the tests and on the page.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_bool,
    check_device,
    check_float_dtype,
    check_float_tensor,
    check_positive_int,
    check_same_device_and_dtype,
    checked_by,
)
from attn_examples.causal import causal_mask
from attn_examples.chapters import Example, Heatmap, Outputs, moved, positions


# --8<-- [start:forward]
@dataclass
class Forward:
    """Every intermediate of one self-attention head: Q, K, V, scores Ω, weights A, output Z."""

    x: torch.Tensor
    w_q: torch.Tensor
    w_k: torch.Tensor
    w_v: torch.Tensor
    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    s: torch.Tensor
    a: torch.Tensor
    z: torch.Tensor


def attention_forward(
    x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor, w_v: torch.Tensor, causal: bool = False
) -> Forward:
    """Q = XW_q, K = XW_k, V = XW_v, Ω = QKᵀ/√d_k (future set to −∞ if causal), A = softmax(Ω), Z = AV.

    For half-precision inputs Ω and A are kept in float32, as PyTorch computes them.

    >>> x = torch.eye(2)
    >>> fwd = attention_forward(x, torch.eye(2), torch.eye(2), torch.eye(2))
    >>> fwd.a
    tensor([[0.6698, 0.3302],
            [0.3302, 0.6698]])
    """
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    # Ω and A in float32 for half-precision inputs, as PyTorch computes them; Z in the inputs' dtype
    wide = torch.promote_types(x.dtype, torch.float32)  # float16 and bfloat16 become float32
    s = q.to(wide) @ k.to(wide).transpose(-2, -1) / math.sqrt(k.shape[-1])
    if causal:
        s = s.masked_fill(~causal_mask(x.shape[-2], x.device), float("-inf"))
    a = torch.softmax(s, dim=-1)
    return Forward(x, w_q, w_k, w_v, q, k, v, s, a, (a @ v.to(wide)).to(v.dtype))


# --8<-- [end:forward]


# --8<-- [start:softmax_backward]
def softmax_jacobian(a: torch.Tensor) -> torch.Tensor:
    """The Jacobian ∂α/∂ω of one row of weights α = softmax(ω), given as ``a``: diag(α) − αᵀα.

    >>> softmax_jacobian(torch.tensor([0.5, 0.5]))
    tensor([[ 0.2500, -0.2500],
            [-0.2500,  0.2500]])
    """
    return torch.diag(a) - torch.outer(a, a)


def softmax_backward(a: torch.Tensor, da: torch.Tensor) -> torch.Tensor:
    """dΩ from dA for row-wise softmax, without building any Jacobian: A ⊙ (dA − rowsum(dA ⊙ A)).

    Each row equals ``softmax_jacobian(a_row) @ da_row`` (the Jacobian is
    symmetric), in O(n) per row instead of O(n²).

    >>> softmax_backward(torch.tensor([[0.5, 0.5]]), torch.tensor([[1.0, 0.0]]))
    tensor([[ 0.2500, -0.2500]])
    """
    return a * (da - (da * a).sum(dim=-1, keepdim=True))


# --8<-- [end:softmax_backward]


# --8<-- [start:backward]
@dataclass
class Gradients:
    """Gradients of a scalar loss with respect to the input, the weights and every intermediate."""

    x: torch.Tensor
    w_q: torch.Tensor
    w_k: torch.Tensor
    w_v: torch.Tensor
    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    s: torch.Tensor
    a: torch.Tensor


def _weight_grad(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    # Xᵀ dOut, summed over the batch: flatten (batch, tokens) into one axis of rows
    return x.reshape(-1, x.shape[-1]).transpose(0, 1) @ grad_out.reshape(-1, grad_out.shape[-1])


def attention_backward(fwd: Forward, dz: torch.Tensor) -> Gradients:
    """Walk the forward pass backwards from dZ = ∂loss/∂Z.

    >>> fwd = attention_forward(torch.eye(2), torch.eye(2), torch.eye(2), torch.eye(2))
    >>> attention_backward(fwd, torch.ones(2, 2)).v
    tensor([[1., 1.],
            [1., 1.]])
    """
    # in float32 for half-precision inputs, like the forward pass; each gradient in its tensor's dtype
    wide = torch.promote_types(fwd.x.dtype, torch.float32)
    x, w_q, w_k, w_v, q, k, v, dz = (t.to(wide) for t in (fwd.x, fwd.w_q, fwd.w_k, fwd.w_v, fwd.q, fwd.k, fwd.v, dz))
    scale = 1 / math.sqrt(k.shape[-1])
    da = dz @ v.transpose(-2, -1)  # Z = A V
    dv = fwd.a.transpose(-2, -1) @ dz
    ds = softmax_backward(fwd.a, da)  # A = softmax(Ω); masked entries have α_ij = 0, so dω_ij = 0
    dq = ds @ k * scale  # Ω = Q Kᵀ / √d_k
    dk = ds.transpose(-2, -1) @ q * scale
    dx = dq @ w_q.T + dk @ w_k.T + dv @ w_v.T  # X feeds Q, K and V: the three paths add up
    dtype = fwd.x.dtype
    return Gradients(
        x=dx.to(dtype),
        w_q=_weight_grad(x, dq).to(dtype),
        w_k=_weight_grad(x, dk).to(dtype),
        w_v=_weight_grad(x, dv).to(dtype),
        q=dq.to(dtype),
        k=dk.to(dtype),
        v=dv.to(dtype),
        s=ds,
        a=da,
    )


# --8<-- [end:backward]


# --8<-- [start:losses]
def bce_loss_and_grad(
    z: torch.Tensor, w_out: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Binary cross-entropy of sigmoid(Z w_out) against 0/1 targets, one per token, averaged.

    Returns the loss, dZ and dw_out. With p = sigmoid(logit), the gradient of
    the mean loss with respect to each logit is (p − y) / N.

    >>> loss, dz, dw = bce_loss_and_grad(torch.zeros(2, 3), torch.ones(3, 1), torch.tensor([[1.0], [0.0]]))
    >>> round(loss.item(), 4), dz
    (0.6931, tensor([[-0.2500, -0.2500, -0.2500],
            [ 0.2500,  0.2500,  0.2500]]))
    """
    logits = z @ w_out
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    dlogits = (torch.sigmoid(logits) - target) / logits.numel()
    return loss, dlogits @ w_out.T, _weight_grad(z, dlogits)


def sum_loss_and_grad(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain sum of Z, for contrast: every entry of dZ is 1.

    >>> sum_loss_and_grad(torch.ones(2, 2))
    (tensor(4.), tensor([[1., 1.],
            [1., 1.]]))
    """
    return z.sum(), torch.ones_like(z)


# --8<-- [end:losses]


# --8<-- [start:worked_example]
class WorkedExample(NamedTuple):
    """The chapter's example: 3 tokens of 4 features, ``d_k = d_v = 2``, a fixed read-out and 0/1 labels."""

    x: torch.Tensor  # (3, 4), the tokens "Death", "like", "wind"
    w_q: torch.Tensor  # (4, 2)
    w_k: torch.Tensor  # (4, 2)
    w_v: torch.Tensor  # (4, 2)
    w_out: torch.Tensor  # (2, 1), logits = Z w_out
    target: torch.Tensor  # (3, 1), one label per token


def worked_example(device: torch.device | str | None = None, dtype: torch.dtype = torch.float64) -> WorkedExample:
    """Draw ``x`` and the three weights on the CPU in float64 after ``torch.manual_seed(0)``, then move them.

    >>> x, w_q, w_k, w_v, w_out, target = worked_example()
    >>> x.shape, w_q.shape, w_out.squeeze(1).tolist(), target.squeeze(1).tolist()
    (torch.Size([3, 4]), torch.Size([4, 2]), [1.0, -0.5], [1.0, 0.0, 1.0])
    """
    torch.manual_seed(0)
    x = torch.randn(3, 4, dtype=torch.float64)
    w_q, w_k, w_v = (torch.randn(4, 2, dtype=torch.float64) for _ in range(3))
    w_out = torch.tensor([[1.0], [-0.5]], dtype=torch.float64)
    target = torch.tensor([[1.0], [0.0], [1.0]], dtype=torch.float64)
    return WorkedExample(*(t.to(device=device, dtype=dtype) for t in (x, w_q, w_k, w_v, w_out, target)))


# --8<-- [end:worked_example]


# --8<-- [start:function]
class ManualAttention(torch.autograd.Function):
    """One self-attention head whose backward pass is ``attention_backward``, for ``gradcheck``.

    >>> x = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    >>> w = [torch.rand(2, 2, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    >>> torch.autograd.gradcheck(lambda *t: ManualAttention.apply(*t, False), (x, *w))
    True
    """

    @staticmethod
    def forward(ctx, x, w_q, w_k, w_v, causal: bool):
        fwd = attention_forward(x, w_q, w_k, w_v, causal)
        ctx.fwd = fwd
        return fwd.z

    @staticmethod
    def backward(ctx, dz):
        grads = attention_backward(ctx.fwd, dz)
        return grads.x, grads.w_q, grads.w_k, grads.w_v, None


# --8<-- [end:function]


# --8<-- [start:init]
INIT_SCHEMES = ("normal", "uniform", "xavier", "he", "lecun")


def init_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation each scheme aims for, given a layer's fan-in and fan-out.

    As variances: normal (no scaling, the baseline): 1; uniform:
    U(−1/√fan_in, 1/√fan_in) as ``nn.Linear`` does, 1/(3·fan_in); xavier
    (Glorot): 2/(fan_in + fan_out); he (Kaiming, ReLU gain): 2/fan_in;
    lecun: 1/fan_in.

    >>> [round(init_std(s, 100, 100), 4) for s in INIT_SCHEMES]
    [1.0, 0.0577, 0.1, 0.1414, 0.1]
    """
    variance = {
        "normal": 1.0,
        "uniform": 1 / (3 * fan_in),
        "xavier": 2 / (fan_in + fan_out),
        "he": 2 / fan_in,
        "lecun": 1 / fan_in,
    }[scheme]
    return math.sqrt(variance)


def init_weight(weight: torch.Tensor, scheme: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a 2-D ``(fan_out, fan_in)`` weight in place, like the matching ``torch.nn.init`` call.

    uniform and xavier draw from a uniform distribution, normal, he and lecun
    from a normal one; each with the standard deviation of ``init_std``.

    >>> w = init_weight(torch.empty(256, 512), "he", torch.Generator().manual_seed(0))
    >>> round(w.std().item(), 2), round(init_std("he", 512, 256), 2)
    (0.06, 0.06)
    """
    fan_out, fan_in = weight.shape
    std = init_std(scheme, fan_in, fan_out)
    with torch.no_grad():
        if scheme in ("uniform", "xavier"):
            bound = math.sqrt(3) * std  # U(−b, b) has std b/√3
            return weight.uniform_(-bound, bound, generator=generator)
        return weight.normal_(0.0, std, generator=generator)


# --8<-- [end:init]


# --8<-- [start:score_statistics]
def score_statistics(scheme: str, d: int, tokens: int = 16, samples: int = 64, seed: int = 0) -> dict[str, float]:
    """Variance of the scaled scores and mean softmax entropy of a head initialised with ``scheme``.

    Embeddings have independent standard normal entries and size ``d``; the
    projections are ``d × d``. The entropy is in nats: ``ln(tokens)`` for
    uniform weights, 0 when one key takes all the weight.

    >>> stats = score_statistics("xavier", 64)
    >>> round(stats["score_variance"], 2), round(stats["entropy"], 2), round(math.log(16), 2)
    (1.0, 2.37, 2.77)
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, tokens, d, generator=generator, dtype=torch.float64)
    w_q, w_k = (init_weight(torch.empty(d, d, dtype=torch.float64), scheme, generator).T for _ in range(2))
    fwd = attention_forward(x, w_q, w_k, w_k)
    entropy = -(fwd.a * fwd.a.clamp_min(1e-300).log()).sum(dim=-1)
    return {"score_variance": fwd.s.var().item(), "entropy": entropy.mean().item()}


# --8<-- [end:score_statistics]


# The public names check their input first (attn_examples._checks.checked_by); the listings above,
# which the page shows, hold the computation alone.
_X_SHAPES = {2: "(tokens, d_in)", 3: "(batch, tokens, d_in)"}
_Z_SHAPES = {2: "(tokens, d_v)", 3: "(batch, tokens, d_v)"}


def _check_attention_forward(x: object, w_q: object, w_k: object, w_v: object, causal: object = False) -> None:
    x = check_float_tensor("x", x, shapes=_X_SHAPES)
    weights = {}
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)):
        weights[name] = w = check_float_tensor(name, w, shapes={2: "(d_in, d_out)"})
        if w.shape[0] != x.shape[-1]:
            raise ValueError(f"{name} must have d_in={x.shape[-1]} rows to multiply x, got shape {tuple(w.shape)}")
    check_same_device_and_dtype(x=x, **weights)
    check_bool("causal", causal)
    if weights["w_q"].shape[1] != weights["w_k"].shape[1]:
        raise ValueError(
            "w_q and w_k must have the same number of columns d_k, "
            f"got {weights['w_q'].shape[1]} and {weights['w_k'].shape[1]}"
        )


def _check_softmax_jacobian(a: object) -> None:
    check_float_tensor("a", a, shapes={1: "(n,)"})


def _check_softmax_backward(a: object, da: object) -> None:
    shapes = {1: "(n,)", 2: "(rows, n)", 3: "(batch, rows, n)", 4: "(batch, heads, rows, n)"}
    a = check_float_tensor("a", a, shapes=shapes)
    da = check_float_tensor("da", da, shapes=shapes)
    check_same_device_and_dtype(a=a, da=da)
    if a.shape != da.shape:
        raise ValueError(f"a and da must have the same shape, got {tuple(a.shape)} and {tuple(da.shape)}")


def _check_attention_backward(fwd: object, dz: object) -> None:
    if not isinstance(fwd, Forward):
        raise TypeError(f"fwd must be the Forward that attention_forward returns, got {type(fwd).__name__}")
    dz = check_float_tensor("dz", dz, shapes=_Z_SHAPES)
    if dz.shape != fwd.z.shape:
        raise ValueError(f"dz must have the shape of the output Z, {tuple(fwd.z.shape)}, got {tuple(dz.shape)}")
    check_same_device_and_dtype(z=fwd.z, dz=dz)


def _check_bce_loss_and_grad(z: object, w_out: object, target: object) -> None:
    z = check_float_tensor("z", z, shapes=_Z_SHAPES)
    w_out = check_float_tensor("w_out", w_out, shapes={2: "(d_v, 1)"})
    target = check_float_tensor("target", target, shapes={2: "(tokens, 1)", 3: "(batch, tokens, 1)"})
    check_same_device_and_dtype(z=z, w_out=w_out, target=target)
    if w_out.shape != (z.shape[-1], 1):
        raise ValueError(f"w_out must have shape (d_v, 1) = ({z.shape[-1]}, 1), got {tuple(w_out.shape)}")
    logits_shape = (*z.shape[:-1], 1)  # the shape of z @ w_out
    if target.shape != logits_shape:
        raise ValueError(f"target must have shape {logits_shape} (one 0/1 label per token), got {tuple(target.shape)}")
    if not ((target == 0) | (target == 1)).all():
        raise ValueError("target must hold only 0 and 1")


def _check_sum_loss_and_grad(z: object) -> None:
    check_float_tensor("z", z, shapes=_Z_SHAPES)


def _check_worked_example(device: object = None, dtype: object = torch.float64) -> None:
    """Check ``worked_example``'s arguments.

    >>> worked_example(device=0)
    Traceback (most recent call last):
    ...
    TypeError: device must be a torch.device, a str or None, got int
    """
    check_device("device", device)
    check_float_dtype("dtype", dtype)


def _check_init_std(scheme: object, fan_in: object, fan_out: object) -> None:
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"scheme must be one of {INIT_SCHEMES}, got {scheme!r}")
    check_positive_int("fan_in", fan_in)
    check_positive_int("fan_out", fan_out)


def _check_init_weight(weight: object, scheme: object, generator: object = None) -> None:
    check_float_tensor("weight", weight, shapes={2: "(fan_out, fan_in)"})  # init_std checks the scheme


def _check_score_statistics(
    scheme: object, d: object, tokens: object = 16, samples: object = 64, seed: object = 0
) -> None:
    check_positive_int("d", d)  # init_weight checks the scheme


attention_forward = checked_by(_check_attention_forward, attention_forward)
softmax_jacobian = checked_by(_check_softmax_jacobian, softmax_jacobian)
softmax_backward = checked_by(_check_softmax_backward, softmax_backward)
attention_backward = checked_by(_check_attention_backward, attention_backward)
bce_loss_and_grad = checked_by(_check_bce_loss_and_grad, bce_loss_and_grad)
sum_loss_and_grad = checked_by(_check_sum_loss_and_grad, sum_loss_and_grad)
worked_example = checked_by(_check_worked_example, worked_example)
init_std = checked_by(_check_init_std, init_std)
init_weight = checked_by(_check_init_weight, init_weight)
score_statistics = checked_by(_check_score_statistics, score_statistics)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "backward-pass"


def _manual_backward(device: torch.device, dtype: torch.dtype) -> Outputs:
    # float32 numbers, as every example's inputs, so that the float32 and float64 runs start from the same ones
    inputs = worked_example(dtype=torch.float32)
    x, w_q, w_k, w_v, w_out, target = (moved(t, device, dtype) for t in inputs)
    fwd = attention_forward(x, w_q, w_k, w_v)
    loss, dz, dw_out = bce_loss_and_grad(fwd.z, w_out, target)
    grads = attention_backward(fwd, dz)
    return {
        "output": {"z": fwd.z, "loss": loss},
        "gradients": {"x": grads.x, "w_q": grads.w_q, "w_k": grads.w_k, "w_v": grads.w_v, "w_out": dw_out},
    }


AGREEMENT = (
    Example(
        CHAPTER,
        "attention_forward and attention_backward, BCE loss",
        _manual_backward,
        note="gradients by hand, as on the page, not by autograd",
    ),
)


def _score_gradient_figure() -> Heatmap:
    x, w_q, w_k, w_v, w_out, target = worked_example()
    fwd = attention_forward(x, w_q, w_k, w_v)
    _, dz, _ = bce_loss_and_grad(fwd.z, w_out, target)
    return Heatmap(attention_backward(fwd, dz).s, positions(3), signed=True)


FIGURES = {"score-gradient": _score_gradient_figure}
