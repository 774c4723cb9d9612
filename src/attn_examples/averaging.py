"""The averaging trick: the chapter "averaging-trick".

The simplest way for a token to gather information from the tokens before it
is to average them. Written with loops, as a product with a normalised
lower-triangular matrix, or as a softmax over scores masked with −∞, it gives
the same numbers; the last form is the one attention generalises, by letting
the scores depend on the data.
"""

from __future__ import annotations

# --8<-- [start:imports]
import torch
from torch import nn

# --8<-- [end:imports]
# isort: split
from collections.abc import Callable

from attn_examples._checks import (
    check_float_tensor,
    check_module_input,
    check_positive_int,
    checked_by,
    checked_methods,
)
from attn_examples.causal import causal_mask
from attn_examples.chapters import Example, Heatmap, Outputs, moved, positions


# --8<-- [start:loops]
def running_average_loops(x: torch.Tensor) -> torch.Tensor:
    """``out[..., t, :]`` is the mean of ``x[..., :t+1, :]``, computed token by token.

    >>> running_average_loops(torch.tensor([[1.0], [3.0], [5.0]]))
    tensor([[1.],
            [2.],
            [3.]])
    """
    out = torch.zeros_like(x)
    for t in range(x.shape[-2]):
        out[..., t, :] = x[..., : t + 1, :].mean(dim=-2)
    return out


# --8<-- [end:loops]


# --8<-- [start:matmul]
def averaging_matrix(
    tokens: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Lower-triangular ``(tokens, tokens)`` matrix whose row ``i`` holds ``1/(i+1)`` i+1 times.

    >>> averaging_matrix(3)
    tensor([[1.0000, 0.0000, 0.0000],
            [0.5000, 0.5000, 0.0000],
            [0.3333, 0.3333, 0.3333]])
    """
    lower = torch.ones(tokens, tokens, device=device, dtype=dtype).tril()
    return lower / lower.sum(dim=1, keepdim=True)


def running_average_matmul(x: torch.Tensor) -> torch.Tensor:
    """The running average as one matrix product: ``averaging_matrix @ x``.

    >>> running_average_matmul(torch.tensor([[1.0], [3.0], [5.0]]))
    tensor([[1.],
            [2.],
            [3.]])
    """
    return averaging_matrix(x.shape[-2], x.device, x.dtype) @ x


# --8<-- [end:matmul]


# --8<-- [start:softmax]
def running_average_softmax(x: torch.Tensor) -> torch.Tensor:
    """The running average as a softmax: equal scores, future positions set to −∞.

    >>> running_average_softmax(torch.tensor([[1.0], [3.0], [5.0]]))
    tensor([[1.],
            [2.],
            [3.]])
    """
    tokens = x.shape[-2]
    scores = torch.zeros(tokens, tokens, device=x.device, dtype=x.dtype)
    future = ~causal_mask(tokens, x.device)  # True above the diagonal
    weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
    return weights @ x


# --8<-- [end:softmax]


# --8<-- [start:head]
class DataDependentHead(nn.Module):
    """One causal self-attention head: the averaging trick with scores computed from the data.

    Each token emits a query ("what am I looking for?") and a key ("what do I
    contain?"); their scaled dot products replace the zeros of
    ``running_average_softmax``, so each token averages its past with weights
    of its own. ``d_out`` is the size of the head, the key size d_k
    (Karpathy's ``head_size``); the values have the same size.

    >>> torch.manual_seed(1337)
    <torch._C.Generator object at ...>
    >>> head = DataDependentHead(d_in=32, d_out=16, context_length=8)
    >>> head(torch.randn(4, 8, 32)).shape
    torch.Size([4, 8, 16])
    """

    allowed: torch.Tensor  # a buffer, registered in __init__: True where a token may look

    def __init__(self, d_in: int, d_out: int, context_length: int) -> None:
        super().__init__()
        self.d_in, self.d_out, self.context_length = d_in, d_out, context_length
        self.W_query = nn.Linear(d_in, d_out, bias=False)
        self.W_key = nn.Linear(d_in, d_out, bias=False)
        self.W_value = nn.Linear(d_in, d_out, bias=False)
        self.register_buffer("allowed", causal_mask(context_length))

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """The ``(…, tokens, tokens)`` attention weights: row ``i`` says how token ``i`` averages."""
        tokens = x.shape[-2]
        scores = self.W_query(x) @ self.W_key(x).transpose(-2, -1) * self.d_out**-0.5
        return torch.softmax(scores.masked_fill(~self.allowed[:tokens, :tokens], float("-inf")), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weights(x) @ self.W_value(x)


# --8<-- [end:head]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
_SHAPES = {2: "(tokens, channels)", 3: "(batch, tokens, channels)"}


def _check_x(x: object) -> None:
    check_float_tensor("x", x, shapes=_SHAPES)


def _check_averaging_matrix(tokens: object, device: object = None, dtype: object = torch.float32) -> None:
    check_positive_int("tokens", tokens)


def _check_init(self: object, d_in: object, d_out: object, context_length: object) -> None:
    for name, value in (("d_in", d_in), ("d_out", d_out), ("context_length", context_length)):
        check_positive_int(name, value)


def _check_weights(self: DataDependentHead, x: object) -> None:
    check_module_input("x", x, d_in=self.d_in, like=self.W_query.weight, max_tokens=self.context_length)


running_average_loops = checked_by(_check_x, running_average_loops)
averaging_matrix = checked_by(_check_averaging_matrix, averaging_matrix)
running_average_matmul = checked_by(_check_x, running_average_matmul)
running_average_softmax = checked_by(_check_x, running_average_softmax)
checked_methods(DataDependentHead, __init__=_check_init, weights=_check_weights)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "averaging-trick"


def _running_average(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.device, torch.dtype], Outputs]:
    def run(device: torch.device, dtype: torch.dtype) -> Outputs:
        torch.manual_seed(1337)
        x = torch.randn(4, 8, 2)
        return {"output": {"average": fn(moved(x, device, dtype))}}

    return run


def _data_dependent_head(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(1337)
    head = DataDependentHead(d_in=32, d_out=16, context_length=8)
    x = torch.randn(4, 8, 32)
    head.to(device=device, dtype=dtype)
    return {"output": {"output": head(moved(x, device, dtype)).detach()}}


AGREEMENT = (
    Example(CHAPTER, "running average with loops", _running_average(running_average_loops)),
    Example(CHAPTER, "running average as a matrix product", _running_average(running_average_matmul)),
    Example(CHAPTER, "running average as a masked softmax", _running_average(running_average_softmax)),
    Example(CHAPTER, "DataDependentHead(32, 16, 8)", _data_dependent_head),
)


def _averaging_matrix_figure() -> Heatmap:
    tokens = 8
    return Heatmap(averaging_matrix(tokens), positions(tokens), hidden=~causal_mask(tokens))


def _data_dependent_head_figure() -> Heatmap:
    torch.manual_seed(1337)  # as the chapter's example: the head first, then its inputs
    head = DataDependentHead(d_in=32, d_out=16, context_length=8)
    inputs = torch.randn(4, 8, 32)
    with torch.no_grad():
        weights = head.weights(inputs)[0]
    return Heatmap(weights, positions(8), hidden=~causal_mask(8))


FIGURES = {"averaging-matrix": _averaging_matrix_figure, "data-dependent-head": _data_dependent_head_figure}
