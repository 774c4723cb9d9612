"""Small helpers shared by the unit tests."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

DTYPES = [torch.float32, torch.float64]
# tolerances asked of every comparison with PyTorch's own attention
ATOL = {torch.float32: 1e-5, torch.float64: 1e-6}


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Compare with the tolerance of ``actual``'s dtype (absolute, no relative slack)."""
    torch.testing.assert_close(actual, expected, rtol=0, atol=ATOL[actual.dtype])


def randn(
    *shape: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu", seed: int = 0
) -> torch.Tensor:
    """Seeded normal tensor drawn on the CPU, then moved (CUDA's generator differs)."""
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed)).to(device)


def seeded(module_class, *args, seed: int = 0, **kwargs):
    """Build a module with a fixed seed, in float64 on the CPU."""
    torch.manual_seed(seed)
    return module_class(*args, **kwargs).double()


shapes = st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 6))  # batch, tokens, d_in
