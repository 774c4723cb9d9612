"""Input validation shared by the chapters' public functions.

Each check raises ``TypeError`` or ``ValueError`` with a message that names
what was expected, so a reader who passes the wrong thing learns how to fix it.

The listings a page shows hold the computation alone, so that they run wherever
a reader pastes them, with torch alone. Each chapter module then rebinds its
public names to checked versions (``checked_by``, ``checked_methods``): what
``import attn_examples`` gives checks its input before any work.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import torch

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)


def checked_by(check: Callable[P, object], function: Callable[P, R]) -> Callable[P, R]:
    """``function``, calling ``check`` with the same arguments first.

    >>> def halve(x: float) -> float:
    ...     return x / 2
    >>> def check_halve(x: float) -> None:
    ...     check_positive_int("x", x)
    >>> halve = checked_by(check_halve, halve)
    >>> halve(4)
    2.0
    >>> halve(-4)
    Traceback (most recent call last):
    ...
    ValueError: x must be a positive integer, got -4
    """

    @functools.wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        check(*args, **kwargs)
        return function(*args, **kwargs)

    return checked


def checked_methods(cls: C, **checks: Callable[..., object]) -> C:
    """``cls`` with each method named in ``checks`` calling its check first (``self`` included)."""
    for name, check in checks.items():
        setattr(cls, name, checked_by(check, getattr(cls, name)))
    return cls


FLOAT_DTYPES = "float16, bfloat16, float32 or float64"


def check_float_tensor(name: str, x: object, *, shapes: dict[int, str]) -> torch.Tensor:
    """Check that ``x`` is a floating-point tensor whose rank is a key of ``shapes``.

    ``shapes`` maps each accepted rank to its description, e.g.
    ``{2: "(tokens, d)", 3: "(batch, tokens, d)"}``. A tensor with no tokens
    (size 0 on its second-to-last dimension, or on its only dimension) is
    rejected as well.

    >>> check_float_tensor("x", torch.zeros(2, 3), shapes={2: "(tokens, d)"}).shape
    torch.Size([2, 3])
    >>> check_float_tensor("x", torch.zeros(3), shapes={2: "(tokens, d)"})
    Traceback (most recent call last):
    ...
    ValueError: x must have shape (tokens, d), got a 1-D tensor of shape (3,)
    """
    expected = " or ".join(shapes.values())
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() not in shapes:
        raise ValueError(f"{name} must have shape {expected}, got a {x.dim()}-D tensor of shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype ({FLOAT_DTYPES}), got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty: shape {shapes[x.dim()]}, got {tuple(x.shape)}")
    return x


def check_float_dtype(name: str, dtype: object) -> torch.dtype:
    """Check a ``dtype`` argument: a floating-point ``torch.dtype``.

    >>> check_float_dtype("dtype", torch.float64)
    torch.float64
    >>> check_float_dtype("dtype", torch.int64)
    Traceback (most recent call last):
    ...
    TypeError: dtype must be a floating-point torch.dtype (float16, bfloat16, float32 or float64), got torch.int64
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype ({FLOAT_DTYPES}), got {dtype!r}")
    return dtype


def check_device(name: str, device: object) -> torch.device | None:
    """Check a ``device`` argument: a ``torch.device``, a name such as ``"cuda:0"`` of a device present here, or None.

    >>> check_device("device", "cpu")
    device(type='cpu')
    >>> check_device("device", "gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must name a PyTorch device such as 'cpu', 'cuda' or 'cuda:0', got 'gpu'
    """
    if device is None or isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"{name} must be a torch.device, a str or None, got {type(device).__name__}")
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"{name} must name a PyTorch device such as 'cpu', 'cuda' or 'cuda:0', got {device!r}"
        ) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} {device!r} is not available here: PyTorch sees no CUDA device")
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ValueError(f"{name} {device!r} is not available here: PyTorch sees {count} CUDA devices")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} {device!r} is not available here: PyTorch sees no MPS device")
    return parsed


def check_last_dims_match(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Check that ``a`` and ``b`` have the same embedding size (last dimension).

    >>> check_last_dims_match("query", torch.zeros(3), "inputs", torch.zeros(2, 4))
    Traceback (most recent call last):
    ...
    ValueError: query has embedding size 3 but inputs has 4; their last dimensions must match
    """
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{name_a} has embedding size {a.shape[-1]} but {name_b} has {b.shape[-1]}; "
            "their last dimensions must match"
        )


def check_same_device_and_dtype(**tensors: torch.Tensor) -> None:
    """Check that all ``tensors`` share one device and one dtype.

    >>> check_same_device_and_dtype(a=torch.zeros(1), b=torch.zeros(1, dtype=torch.float64))
    Traceback (most recent call last):
    ...
    TypeError: a and b must have the same dtype, got torch.float32 and torch.float64
    """
    (first_name, first), *rest = tensors.items()
    for name, t in rest:
        if t.device != first.device:
            raise ValueError(f"{first_name} and {name} must be on the same device, got {first.device} and {t.device}")
        if t.dtype != first.dtype:
            raise TypeError(f"{first_name} and {name} must have the same dtype, got {first.dtype} and {t.dtype}")


def check_module_input(
    name: str, x: object, *, d_in: int, like: torch.Tensor, max_tokens: int | None = None
) -> torch.Tensor:
    """Check an input to an attention module: ``(tokens, d_in)`` or ``(batch, tokens, d_in)``.

    ``like`` is one of the module's weights: ``x`` must share its dtype and
    device. ``max_tokens`` is the module's context length, if it has one.

    >>> w = torch.zeros(2, 3)
    >>> check_module_input("x", torch.zeros(4, 5), d_in=3, like=w)
    Traceback (most recent call last):
    ...
    ValueError: x must have d_in=3 features in its last dimension, got shape (4, 5)
    """
    x = check_float_tensor(name, x, shapes={2: "(tokens, d_in)", 3: "(batch, tokens, d_in)"})
    if x.shape[-1] != d_in:
        raise ValueError(f"{name} must have d_in={d_in} features in its last dimension, got shape {tuple(x.shape)}")
    if max_tokens is not None and x.shape[-2] > max_tokens:
        raise ValueError(
            f"{name} has {x.shape[-2]} tokens but the module's context_length is {max_tokens}; "
            "build the module with a larger context_length or shorten the input"
        )
    if x.dtype != like.dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but the module's weights are {like.dtype}; convert one with .to()")
    if x.device != like.device:
        raise ValueError(f"{name} is on {x.device} but the module's weights are on {like.device}; move one with .to()")
    return x


def check_positive_int(name: str, value: object) -> int:
    """Check a size argument such as ``d_out`` or ``num_heads``.

    >>> check_positive_int("num_heads", 0)
    Traceback (most recent call last):
    ...
    ValueError: num_heads must be a positive integer, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive integer, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def check_even_features(name: str, value: object) -> int:
    """Check that ``value`` is a positive even number of features, as RoPE turns them in pairs.

    >>> check_even_features("head_dim", 3)
    Traceback (most recent call last):
    ...
    ValueError: head_dim must be even (the features turn in pairs), got 3
    """
    value = check_positive_int(name, value)
    if value % 2:
        raise ValueError(f"{name} must be even (the features turn in pairs), got {value}")
    return value


def check_rope_base(base: object) -> None:
    """Check the base of RoPE's or the sinusoidal table's frequencies: a finite number above 1."""
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not math.isfinite(base) or base <= 1:
        raise ValueError(f"base must be a finite number greater than 1 (10000.0 in the papers), got {base!r}")


def check_start(start: object) -> int:
    """Check ``start``, the position of a module's first token: a non-negative integer."""
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"start must be a non-negative integer (the position of the first token), got {start!r}")
    return start


def check_probability(name: str, value: object) -> float:
    """Check a dropout probability: a number in [0, 1).

    >>> check_probability("dropout", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: dropout must be in [0, 1), got 1.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float in [0, 1), got {type(value).__name__}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def check_scale(scale: object, d: int) -> float:
    """Check a score scale: a positive finite number, or None for the usual ``1/√d``.

    >>> check_scale(None, 64)
    0.125
    >>> check_scale(-1.0, 64)
    Traceback (most recent call last):
    ...
    ValueError: scale must be a positive finite number or None (1/√d), got -1.0
    """
    if scale is None:
        return 1.0 / math.sqrt(d)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number or None (1/√d), got {scale!r}")
    return float(scale)


def check_bool(name: str, value: object) -> bool:
    """Check a flag such as ``causal``.

    >>> check_bool("causal", 1)
    Traceback (most recent call last):
    ...
    TypeError: causal must be True or False, got int
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return value


def check_qkv(q: object, k: object, v: object) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check queries, keys and values for attention: same rank (2 to 4), batch dims, device and dtype.

    Returns the three tensors, as checked.

    >>> check_qkv(torch.zeros(2, 4, 8), torch.zeros(2, 5, 8), torch.zeros(2, 6, 3))
    Traceback (most recent call last):
    ...
    ValueError: k and v must have the same number of tokens, got 5 and 6
    """
    shapes = {2: "(tokens, d)", 3: "(batch, tokens, d)", 4: "(batch, heads, tokens, d)"}
    q = check_float_tensor("q", q, shapes=shapes)
    same_rank = {q.dim(): f"{shapes[q.dim()]}, the rank of q"}
    k, v = check_float_tensor("k", k, shapes=same_rank), check_float_tensor("v", v, shapes=same_rank)
    check_same_device_and_dtype(q=q, k=k, v=v)
    if q.shape[:-2] != k.shape[:-2] or k.shape[:-2] != v.shape[:-2]:
        raise ValueError(
            f"q, k and v must share their batch dimensions, got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same size d, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same number of tokens, got {k.shape[-2]} and {v.shape[-2]}")
    return q, k, v
