"""Where tensors live, and how the guide prints them the same way on every device."""

from __future__ import annotations

# --8<-- [start:default_device]
import os

import torch

DEVICE_ENV = "ATTN_EXAMPLES_DEVICE"
KNOWN_DEVICES = ("cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def device_available(name: str) -> bool:
    """Return whether PyTorch can use the device type ``name`` here.

    >>> device_available("cpu")
    True
    """
    if name not in KNOWN_DEVICES:
        raise ValueError(f"device must be one of {KNOWN_DEVICES}, got {name!r}")
    if name == "cuda":
        return torch.cuda.is_available()
    if name == "mps":
        return _mps_available()
    return True


def default_device() -> torch.device:
    """Pick the device the guide's examples run on.

    CUDA when a GPU is visible, else Apple's MPS, else the CPU. Setting the
    environment variable ``ATTN_EXAMPLES_DEVICE`` to ``cpu``, ``cuda`` or
    ``mps`` forces that device (and fails loudly if it is not available).

    >>> import os
    >>> os.environ["ATTN_EXAMPLES_DEVICE"] = "cpu"
    >>> default_device()
    device(type='cpu')
    >>> del os.environ["ATTN_EXAMPLES_DEVICE"]
    """
    forced = os.environ.get(DEVICE_ENV, "").strip().lower()
    if forced:
        if forced not in KNOWN_DEVICES:
            raise ValueError(f"{DEVICE_ENV} must be one of {', '.join(KNOWN_DEVICES)}; got {forced!r}")
        if not device_available(forced):
            raise RuntimeError(f"{DEVICE_ENV}={forced} but PyTorch cannot use {forced} here")
        return torch.device(forced)
    for name in ("cuda", "mps"):
        if device_available(name):
            return torch.device(name)
    return torch.device("cpu")


# --8<-- [end:default_device]


# --8<-- [start:rounded]
def rounded(x: torch.Tensor, decimals: int = 4) -> torch.Tensor:
    """Return a detached float32 CPU copy of ``x`` rounded to ``decimals``.

    Its printed form is the same whether ``x`` was computed on a CPU or a GPU,
    in float32 or float64, which is what lets one printed example hold
    everywhere.

    >>> rounded(torch.tensor([0.123456, 2.0], dtype=torch.float64))
    tensor([0.1235, 2.0000])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.is_complex():
        raise TypeError(f"expected a real tensor, got dtype {x.dtype}")
    out = x.detach().to(device="cpu", dtype=torch.float32)
    # round(-0.00001) prints as -0.0000; adding 0.0 turns negative zeros into zeros
    return torch.round(out, decimals=decimals) + 0.0


# --8<-- [end:rounded]
