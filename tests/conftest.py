"""Shared fixtures: run device-dependent tests on every device this machine has."""

from __future__ import annotations

import pytest
import torch

from attn_examples.device import KNOWN_DEVICES, device_available


@pytest.fixture(
    params=[
        pytest.param(name, marks=pytest.mark.skipif(not device_available(name), reason=f"no {name} device here"))
        for name in KNOWN_DEVICES
    ]
)
def device(request: pytest.FixtureRequest) -> torch.device:
    """Each available device in turn: cpu always, cuda and mps where present."""
    return torch.device(request.param)
