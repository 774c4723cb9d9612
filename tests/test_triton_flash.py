"""The Triton kernels, on the GPU when there is one, else in Triton's interpreter on the CPU."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from tests.helpers import randn

# without CUDA, the test configuration (conftest.py) has turned Triton's interpreter on before this import
triton_flash = pytest.importorskip(
    "attn_examples.triton_flash", reason='Triton is not installed: pip install "attn-examples[triton]"'
)
triton_flash_attention = triton_flash.triton_flash_attention
DEVICE = triton_flash.default_triton_device()
# shapes: (batch, heads, tokens_q, tokens_k, head_dim); tokens that are not multiples of the tiles
SHAPES = [(1, 2, 40, 40, 16), (2, 1, 33, 50, 64), (1, 1, 70, 70, 128), (1, 1, 1, 1, 64), (1, 2, 17, 5, 32)]


def _case(shape, dtype):
    b, h, t_q, t_k, d = shape
    q, k, v, grad_out = (
        randn(*s, dtype=torch.float64, seed=i)
        for i, s in enumerate([(b, h, t_q, d), (b, h, t_k, d), (b, h, t_k, d), (b, h, t_q, d)])
    )
    return [t.to(dtype).to(DEVICE) for t in (q, k, v, grad_out)]


def _reference(q, k, v, grad_out, causal):
    """Forward output and gradients, in float64 (exact) and in q's dtype by PyTorch (its own error)."""
    results = []
    for dtype in (torch.float64, q.dtype):
        leaves = [t.detach().to(dtype).requires_grad_() for t in (q, k, v)]
        out = F.scaled_dot_product_attention(*leaves, is_causal=causal)
        results.append([out, *torch.autograd.grad(out, leaves, grad_out.to(dtype))])
    return results


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_forward_and_backward_match_pytorch(shape, dtype: torch.dtype, causal: bool) -> None:
    q, k, v, grad_out = (t.requires_grad_() if i < 3 else t for i, t in enumerate(_case(shape, dtype)))
    out = triton_flash_attention(q, k, v, causal=causal, block_q=16, block_k=32)
    got = [out, *torch.autograd.grad(out, (q, k, v), grad_out)]
    exact, torch_same_dtype = _reference(q, k, v, grad_out, causal)
    for name, g, e, t in zip(("out", "dq", "dk", "dv"), got, exact, torch_same_dtype, strict=True):
        assert g.dtype == dtype and g.shape == e.shape
        error = (g.double() - e).abs().max().item()
        if dtype == torch.float32:
            assert error <= 1e-5, name
        else:  # half precision: as accurate as PyTorch's own attention in that dtype, within a factor
            torch_error = (t.double() - e).abs().max().item()
            assert error <= 3 * torch_error + 4 * torch.finfo(dtype).eps, (name, error, torch_error)


def test_default_tiles_and_a_custom_scale() -> None:
    q, k, v, _ = _case((1, 2, 45, 45, 64), torch.float32)
    out = triton_flash_attention(q, k, v, scale=0.3)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, scale=0.3), rtol=0, atol=1e-5)


def test_large_scores_stay_finite() -> None:
    q = torch.full((1, 1, 20, 16), 30.0, device=DEVICE)
    v = torch.arange(20 * 16, dtype=torch.float32, device=DEVICE).reshape(1, 1, 20, 16)
    out = triton_flash_attention(q, q, v, causal=True, block_q=16, block_k=16)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, q, v, is_causal=True), rtol=0, atol=1e-4)


@pytest.mark.parametrize("block_k", [16, 32])
def test_key_tiles_that_score_minus_infinity_give_no_nan(block_k: int) -> None:
    q, k, v, _ = _case((1, 1, 20, 40, 16), torch.float32)
    q[..., 0] = q[..., 0].abs() + 0.1
    k[..., :block_k, 0] = -torch.inf  # the whole first key tile scores −∞ against every query
    out = triton_flash_attention(q, k, v, block_q=16, block_k=block_k)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), rtol=0, atol=1e-5)


def test_interpreter_is_used_exactly_when_there_is_no_cuda() -> None:
    assert DEVICE.type == ("cpu" if triton_flash.interpreting() else "cuda")
    if not torch.cuda.is_available():
        assert triton_flash.interpreting()  # set by the test configuration (conftest.py)


def test_importing_the_module_changes_no_environment_variable() -> None:
    env = {name: value for name, value in os.environ.items() if name != "TRITON_INTERPRET"}
    code = "import os, attn_examples.triton_flash as t; print(os.environ.get('TRITON_INTERPRET'), t.interpreting())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["None", "False"]


def test_without_cuda_or_the_interpreter_the_error_says_how_to_run(monkeypatch) -> None:
    monkeypatch.setattr(triton_flash, "_INTERPRETING", False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"set TRITON_INTERPRET=1 before attn_examples\.triton_flash is imported"):
        triton_flash_attention(*_case((1, 1, 4, 4, 16), torch.float32)[:3])


x = torch.zeros(1, 1, 4, 16, device=DEVICE)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: triton_flash_attention(x[0], x, x),
            ValueError,
            r"q must have shape \(batch, heads, tokens, head_dim\)",
        ),
        (
            lambda: triton_flash_attention(x.double(), x.double(), x.double()),
            TypeError,
            "take float16, bfloat16 or float32",
        ),
        (
            lambda: triton_flash_attention(x[..., :8], x[..., :8], x[..., :8]),
            ValueError,
            "one of \\(16, 32, 64, 128\\)",
        ),
        (lambda: triton_flash_attention(x, torch.zeros(1, 2, 4, 16, device=DEVICE), x), ValueError, "must share"),
        (lambda: triton_flash_attention(x, x, x, block_q=24), ValueError, "block_q must be a power of two"),
        (
            lambda: triton_flash_attention(x, x, x, block_k=8),
            ValueError,
            "block_k must be a power of two of at least 16",
        ),
        (lambda: triton_flash_attention(x, x, x, causal=None), TypeError, "causal must be True or False"),
        (lambda: triton_flash_attention(x, x, x, scale=float("nan")), ValueError, "scale must be a positive finite"),
        (lambda: triton_flash_attention(x.to("meta"), x.to("meta"), x.to("meta")), ValueError, "tensors on meta"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
