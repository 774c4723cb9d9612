from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_examples.backward import (
    INIT_SCHEMES,
    ManualAttention,
    attention_backward,
    attention_forward,
    bce_loss_and_grad,
    init_std,
    init_weight,
    score_statistics,
    softmax_backward,
    softmax_jacobian,
    sum_loss_and_grad,
    worked_example,
)
from tests.helpers import randn

TOL = 1e-10


def _autograd_reference(x, w_q, w_k, w_v, causal, loss_fn):
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, w_q, w_k, w_v)]
    fwd = attention_forward(*leaves, causal=causal)
    for t in (fwd.q, fwd.k, fwd.v, fwd.s, fwd.a):
        t.retain_grad()
    loss_fn(fwd.z).backward()
    return leaves, fwd


def _check_against_autograd(x, w_q, w_k, w_v, causal, loss="bce"):
    w_out = randn(w_v.shape[1], 1, device=x.device, seed=11)
    target = (randn(*x.shape[:-1], 1, device=x.device, seed=12) > 0).double()
    if loss == "bce":

        def loss_fn(z):
            return torch.nn.functional.binary_cross_entropy_with_logits(z @ w_out, target)
    else:

        def loss_fn(z):
            return z.sum()

    (x_ref, wq_ref, wk_ref, wv_ref), fwd_ref = _autograd_reference(x, w_q, w_k, w_v, causal, loss_fn)

    fwd = attention_forward(x, w_q, w_k, w_v, causal=causal)
    if loss == "bce":
        value, dz, _ = bce_loss_and_grad(fwd.z, w_out, target)
    else:
        value, dz = sum_loss_and_grad(fwd.z)
    torch.testing.assert_close(value, loss_fn(fwd_ref.z).detach(), rtol=0, atol=TOL)
    grads = attention_backward(fwd, dz)
    pairs = [
        (grads.x, x_ref.grad),
        (grads.w_q, wq_ref.grad),
        (grads.w_k, wk_ref.grad),
        (grads.w_v, wv_ref.grad),
        (grads.q, fwd_ref.q.grad),
        (grads.k, fwd_ref.k.grad),
        (grads.v, fwd_ref.v.grad),
        (grads.a, fwd_ref.a.grad),
    ]
    for manual, auto in pairs:
        torch.testing.assert_close(manual, auto, rtol=0, atol=TOL)
    # where the mask put -inf, autograd's ds is 0 and so is ours
    torch.testing.assert_close(grads.s, torch.nan_to_num(fwd_ref.s.grad), rtol=0, atol=TOL)
    if causal:
        assert (grads.s.triu(diagonal=1) == 0).all()
    return max((manual - auto).abs().max().item() for manual, auto in pairs)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("loss", ["bce", "sum"])
def test_manual_gradients_equal_autograd_on_every_device(device: torch.device, causal: bool, loss: str) -> None:
    x = randn(2, 5, 4, device=device)
    w_q, w_k, w_v = (randn(4, 3, device=device, seed=s) for s in (1, 2, 3))
    _check_against_autograd(x, w_q, w_k, w_v, causal, loss)


@settings(max_examples=60, deadline=None)
@given(
    batch=st.integers(0, 3),
    tokens=st.integers(1, 7),
    d_in=st.integers(1, 6),
    d_k=st.integers(1, 5),
    d_v=st.integers(1, 5),
    causal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_manual_gradients_equal_autograd_on_random_shapes(batch, tokens, d_in, d_k, d_v, causal, seed) -> None:
    shape = (batch, tokens, d_in) if batch else (tokens, d_in)
    x = randn(*shape, seed=seed)
    w_q, w_k, w_v = randn(d_in, d_k, seed=seed + 1), randn(d_in, d_k, seed=seed + 2), randn(d_in, d_v, seed=seed + 3)
    assert _check_against_autograd(x, w_q, w_k, w_v, causal) <= TOL


@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck_passes_on_the_manual_backward(causal: bool) -> None:
    inputs = [randn(2, 4, 3, seed=0).requires_grad_(True)] + [
        randn(3, 2, seed=s).requires_grad_(True) for s in (1, 2, 3)
    ]
    assert torch.autograd.gradcheck(lambda *t: ManualAttention.apply(*t, causal), inputs)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_softmax_jacobian_equals_autograd(n: int, seed: int) -> None:
    s = randn(n, seed=seed)
    expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=0), s)
    torch.testing.assert_close(softmax_jacobian(torch.softmax(s, dim=0)), expected, rtol=0, atol=1e-12)
    da = randn(n, seed=seed + 1)
    torch.testing.assert_close(softmax_backward(torch.softmax(s, 0)[None], da[None])[0], expected.T @ da)


NN_INIT = {
    "normal": lambda w: torch.nn.init.normal_(w),
    "uniform": lambda w: torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5)),  # nn.Linear's default
    "xavier": torch.nn.init.xavier_uniform_,
    "he": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "lecun": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="linear"),
}


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_initialisers_match_torch_nn_init(scheme: str) -> None:
    fan_out, fan_in = 512, 1024
    ours = init_weight(torch.empty(fan_out, fan_in, dtype=torch.float64), scheme, torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    theirs = NN_INIT[scheme](torch.empty(fan_out, fan_in, dtype=torch.float64))
    std = init_std(scheme, fan_in, fan_out)
    n = ours.numel()
    for w in (ours, theirs):
        assert abs(w.mean().item()) < 5 * std / math.sqrt(n)  # sampling error of the mean
        assert w.std().item() == pytest.approx(std, rel=0.01)
    # uniform schemes stay inside their bound, normal ones do not
    bounded = ours.abs().max().item() <= math.sqrt(3) * std * (1 + 1e-12)
    assert bounded == (scheme in ("uniform", "xavier"))


def test_score_statistics_show_what_initialisation_does() -> None:
    table = {scheme: [score_statistics(scheme, d) for d in (16, 256)] for scheme in INIT_SCHEMES}
    assert table["normal"][1]["score_variance"] > 100 * table["normal"][0]["score_variance"]  # grows like d²
    assert table["normal"][1]["entropy"] < 0.05  # saturated: one key takes everything
    for scheme in ("xavier", "lecun"):
        assert table[scheme][1]["score_variance"] == pytest.approx(1.0, rel=0.15)
    assert table["uniform"][1]["entropy"] > table["xavier"][1]["entropy"] > table["he"][1]["entropy"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: init_weight(torch.empty(3), "xavier"), ValueError, r"weight must have shape \(fan_out, fan_in\)"),
        (lambda: init_weight(torch.empty(4, 0), "he"), ValueError, r"weight must not be empty.*\(4, 0\)"),
        (lambda: init_weight(torch.empty(2, 2, dtype=torch.int64), "he"), TypeError, "floating-point"),
        (lambda: init_weight(torch.empty(2, 2), "glorot"), ValueError, "scheme must be one of"),
        (lambda: init_std("he", 0, 3), ValueError, "fan_in must be a positive integer, got 0"),
        (
            lambda: attention_forward(torch.rand(3, 4), torch.rand(3, 2), torch.rand(4, 2), torch.rand(4, 2)),
            ValueError,
            r"w_q must have d_in=4 rows",
        ),
        (
            lambda: attention_forward(torch.rand(3, 4), torch.rand(4, 2), torch.rand(4, 3), torch.rand(4, 2)),
            ValueError,
            "same number of columns d_k",
        ),
        (
            lambda: attention_forward(torch.rand(4), torch.rand(4, 2), torch.rand(4, 2), torch.rand(4, 2)),
            ValueError,
            r"\(tokens, d_in\) or \(batch, tokens, d_in\)",
        ),
        (
            lambda: attention_forward(
                torch.rand(3, 4), torch.rand(4, 2, dtype=torch.float64), torch.rand(4, 2), torch.rand(4, 2)
            ),
            TypeError,
            "same dtype",
        ),
        (
            lambda: attention_backward(attention_forward(*(torch.rand(3, 3) for _ in range(4))), torch.ones(2, 3)),
            ValueError,
            r"dz must have the shape of the output Z, \(3, 3\)",
        ),
        (
            lambda: bce_loss_and_grad(torch.rand(3, 2), torch.rand(3, 1), torch.ones(3, 1)),
            ValueError,
            r"w_out must have shape \(d_v, 1\) = \(2, 1\)",
        ),
        (
            lambda: bce_loss_and_grad(torch.rand(3, 2), torch.rand(2, 1), torch.full((3, 1), 0.5)),
            ValueError,
            "only 0 and 1",
        ),
        (lambda: softmax_backward(torch.rand(2, 3), torch.rand(3, 2)), ValueError, "same shape"),
        (lambda: softmax_jacobian(torch.rand(2, 2)), ValueError, r"a must have shape \(n,\)"),
        (lambda: sum_loss_and_grad([0.5, 0.2]), TypeError, "z must be a torch.Tensor"),
        (lambda: bce_loss_and_grad([[0.5]], torch.rand(1, 1), torch.ones(1, 1)), TypeError, "z must be a torch.Tensor"),
        (lambda: bce_loss_and_grad(torch.rand(3, 2), torch.rand(2, 1), [1, 0, 1]), TypeError, "target must be a"),
        (lambda: attention_backward((1, 2), torch.ones(3, 3)), TypeError, "fwd must be the Forward"),
        (
            lambda: attention_backward(attention_forward(*(torch.rand(3, 3) for _ in range(4))), [[1.0] * 3] * 3),
            TypeError,
            "dz must be a torch.Tensor",
        ),
        (
            lambda: attention_forward(*(torch.rand(3, 3) for _ in range(4)), causal="yes"),
            TypeError,
            "causal must be True or False, got str",
        ),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_inputs_on_two_devices_are_rejected_without_a_gpu() -> None:
    with pytest.raises(ValueError, match="x and w_q must be on the same device"):
        attention_forward(torch.rand(3, 4), torch.rand(4, 2, device="meta"), torch.rand(4, 2), torch.rand(4, 2))


def test_worked_example_draws_on_the_cpu_in_float64_then_moves(device: torch.device) -> None:
    example = worked_example()
    torch.manual_seed(0)
    assert torch.equal(example.x, torch.randn(3, 4, dtype=torch.float64))
    assert [tuple(t.shape) for t in example] == [(3, 4), (4, 2), (4, 2), (4, 2), (2, 1), (3, 1)]
    moved = worked_example(device=device, dtype=torch.float32)
    for ours, theirs in zip(moved, example, strict=True):
        assert ours.device.type == device.type and ours.dtype == torch.float32
        assert torch.equal(ours.cpu(), theirs.float())


def test_worked_example_rejects_a_non_floating_dtype() -> None:
    with pytest.raises(TypeError, match=r"floating-point torch\.dtype"):
        worked_example(dtype=torch.int32)
