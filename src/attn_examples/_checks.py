"""Input validation shared by the chapters' public functions.

Each check raises ``TypeError`` or ``ValueError`` with a message that names
what was expected, so a reader who passes the wrong thing learns how to fix it.
"""

from __future__ import annotations

import torch

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
        raise ValueError(
            f"{name} must have shape {expected}, got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype ({FLOAT_DTYPES}), got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty: shape {shapes[x.dim()]}, got {tuple(x.shape)}")
    return x


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
            raise ValueError(
                f"{first_name} and {name} must be on the same device, got {first.device} and {t.device}"
            )
        if t.dtype != first.dtype:
            raise TypeError(
                f"{first_name} and {name} must have the same dtype, got {first.dtype} and {t.dtype}"
            )
