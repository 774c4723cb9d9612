from __future__ import annotations

import pytest
import torch

from attn_examples.device import DEVICE_ENV, default_device, device_available, rounded


def test_default_device_follows_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if device_available("mps") else "cpu"
    assert default_device().type == expected


def test_environment_variable_forces_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, " CPU ")
    assert default_device() == torch.device("cpu")


def test_unknown_device_name_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, "tpu")
    with pytest.raises(ValueError, match="ATTN_EXAMPLES_DEVICE must be one of cpu, cuda, mps; got 'tpu'"):
        default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is missing")
def test_forcing_a_missing_device_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError, match="cannot use cuda"):
        default_device()


def test_device_available_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        device_available("gpu")


def test_rounded_prints_the_same_on_every_device(device: torch.device) -> None:
    x = torch.tensor([[0.123456, -0.00004], [2.0, 1 / 3]], dtype=torch.float64, device=device)
    out = rounded(x)
    assert out.device.type == "cpu" and out.dtype == torch.float32
    assert repr(out) == repr(rounded(x.cpu().float()))
    assert repr(out) == "tensor([[0.1235, 0.0000],\n        [2.0000, 0.3333]])"


def test_rounded_detaches_and_rejects_non_tensors() -> None:
    x = torch.ones(2, requires_grad=True)
    assert not rounded(x * 2).requires_grad
    with pytest.raises(TypeError, match=r"expected a torch\.Tensor, got list"):
        rounded([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a real tensor"):
        rounded(torch.ones(2, dtype=torch.complex64))
