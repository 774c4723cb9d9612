"""Attention without trainable weights: the chapter "simple-attention".

Every token's embedding serves as its own query, key and value. The score of
a token for a query is a dot product, the softmax turns the scores into
weights that sum to one, and the context vector is the weighted sum of the
embeddings. The functions below do this for one query (and once more with
plain loops), then for all tokens at once with two matrix products.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import torch

# --8<-- [end:imports]
# isort: split
from attn_examples._checks import (
    check_bool,
    check_device,
    check_float_dtype,
    check_float_tensor,
    check_last_dims_match,
    check_same_device_and_dtype,
    checked_by,
)
from attn_examples.chapters import Example, Heatmap, Outputs, moved

# --8<-- [start:embeddings]
TOKENS = ("Hello", "shiny", "sun!")


def hello_shiny_sun(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return the 3-d embeddings of "Hello shiny sun!", one row per token.

    >>> hello_shiny_sun()
    tensor([[0.3400, 0.2200, 0.5400],
            [0.5300, 0.3400, 0.9800],
            [0.2900, 0.5400, 0.9300]])
    """
    rows = [
        [0.34, 0.22, 0.54],  # Hello
        [0.53, 0.34, 0.98],  # shiny
        [0.29, 0.54, 0.93],  # sun!
    ]
    return torch.tensor(rows, device=device, dtype=dtype)


# --8<-- [end:embeddings]


# --8<-- [start:one_query]
def attention_scores(query: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Dot product of ``query`` (shape ``(d_in,)``) with every row of ``inputs`` (``(tokens, d_in)``).

    Scores of half-precision inputs come back in float32 (they can pass float16's 65504).

    >>> x = hello_shiny_sun()
    >>> attention_scores(x[1], x)
    tensor([0.7842, 1.3569, 1.2487])
    """
    wide = torch.promote_types(inputs.dtype, torch.float32)  # float16 and bfloat16 become float32
    return inputs.to(wide) @ query.to(wide)


def softmax(scores: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Turn scores into positive weights that sum to one along ``dim``.

    Subtracting the maximum first changes nothing mathematically (it cancels
    in the ratio) but keeps ``exp`` from overflowing on large scores. Half-precision
    scores are summed in float32; the weights keep the scores' dtype.

    >>> softmax(torch.tensor([0.7842, 1.3569, 1.2487]))
    tensor([0.2291, 0.4063, 0.3646])
    >>> softmax(torch.tensor([1000.0, 1000.0]))
    tensor([0.5000, 0.5000])
    """
    wide = scores.to(torch.promote_types(scores.dtype, torch.float32))
    exponentials = (wide - wide.amax(dim=dim, keepdim=True)).exp()
    return (exponentials / exponentials.sum(dim=dim, keepdim=True)).to(scores.dtype)


def context_vector(query: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Weighted sum of the rows of ``inputs``, weighted by softmax of their scores.

    >>> x = hello_shiny_sun()
    >>> context_vector(x[1], x)
    tensor([0.3990, 0.3854, 0.8610])
    """
    weights = softmax(attention_scores(query, inputs))  # float32 for half-precision inputs
    return (weights @ inputs.to(weights.dtype)).to(inputs.dtype)


# --8<-- [end:one_query]


# --8<-- [start:loops]
def context_vector_loop(query: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """The same context vector as ``context_vector``, spelled out with Python loops.

    Slow, and only here to show every multiplication and addition. Each step
    is a one-number tensor, so autograd follows it as it follows the fast version.

    >>> x = hello_shiny_sun()
    >>> context_vector_loop(x[1], x)
    tensor([0.3990, 0.3854, 0.8610])
    """
    wide = torch.promote_types(inputs.dtype, torch.float32)
    tokens, d = inputs.shape
    zero = inputs.new_zeros((), dtype=wide)  # where each sum starts
    scores = [sum((inputs[i, k].to(wide) * query[k].to(wide) for k in range(d)), zero) for i in range(tokens)]
    largest = max(scores)
    exponentials = [torch.exp(s - largest) for s in scores]
    total = sum(exponentials, zero)
    weights = [e / total for e in exponentials]
    context = [sum((weights[i] * inputs[i, k].to(wide) for i in range(tokens)), zero) for k in range(d)]
    return torch.stack(context).to(inputs.dtype)


# --8<-- [end:loops]


# --8<-- [start:all_tokens]
def score_matrix(inputs: torch.Tensor, *, scaled: bool = False, causal: bool = False) -> torch.Tensor:
    """Scores of every token (row) for every token (column): ``X Xᵀ``.

    ``inputs`` has shape ``(tokens, d_in)`` or ``(batch, tokens, d_in)``. Two options
    used by later chapters (and by the attention explorer): ``scaled=True``
    divides the scores by ``√d_k``, here ``√d_in``; ``causal=True`` sets the scores of later
    tokens (above the diagonal) to ``-inf``, so that they get zero weight.
    Scores of half-precision inputs come back in float32.

    >>> x = hello_shiny_sun(dtype=torch.float64)
    >>> score_matrix(x)[1]
    tensor([0.7842, 1.3569, 1.2487], dtype=torch.float64)
    >>> score_matrix(x, scaled=True, causal=True)
    tensor([[0.2630,   -inf,   -inf],
            [0.4528, 0.7834,   -inf],
            [0.4155, 0.7209, 0.7163]], dtype=torch.float64)
    """
    wide = inputs.to(torch.promote_types(inputs.dtype, torch.float32))
    scores = wide @ wide.transpose(-2, -1)
    if scaled:
        scores = scores / math.sqrt(inputs.shape[-1])
    if causal:
        tokens = inputs.shape[-2]
        later = torch.ones(tokens, tokens, dtype=torch.bool, device=inputs.device).triu(diagonal=1)
        scores = scores.masked_fill(later, float("-inf"))
    return scores


def attention_matrix(inputs: torch.Tensor, *, scaled: bool = False, causal: bool = False) -> torch.Tensor:
    """Softmax weights of every token (row) for every token (column).

    ``inputs`` has shape ``(tokens, d_in)`` or ``(batch, tokens, d_in)``; the result
    has shape ``(tokens, tokens)`` or ``(batch, tokens, tokens)``. ``scaled``
    and ``causal`` are the options of ``score_matrix``; a masked score gets
    weight 0 (the diagonal is never masked, so every row has a finite maximum).
    The weights have the inputs' dtype.

    >>> attention_matrix(hello_shiny_sun())
    tensor([[0.2709, 0.3763, 0.3528],
            [0.2291, 0.4063, 0.3646],
            [0.2283, 0.3874, 0.3843]])
    >>> attention_matrix(hello_shiny_sun(), causal=True)
    tensor([[1.0000, 0.0000, 0.0000],
            [0.3606, 0.6394, 0.0000],
            [0.2283, 0.3874, 0.3843]])
    """
    return softmax(score_matrix(inputs, scaled=scaled, causal=causal), dim=-1).to(inputs.dtype)


def context_vectors(inputs: torch.Tensor, *, scaled: bool = False, causal: bool = False) -> torch.Tensor:
    """Context vectors of all tokens at once: ``softmax(X Xᵀ) X``.

    >>> context_vectors(hello_shiny_sun())[1]
    tensor([0.3990, 0.3854, 0.8610])
    >>> context_vectors(hello_shiny_sun(), scaled=True)[1]
    tensor([0.3938, 0.3783, 0.8434])
    """
    weights = softmax(score_matrix(inputs, scaled=scaled, causal=causal), dim=-1)  # float32 for half inputs
    return (weights @ inputs.to(weights.dtype)).to(inputs.dtype)


# --8<-- [end:all_tokens]


# The public names check their input first (attn_examples._checks.checked_by); the listings above,
# which the page shows, hold the computation alone.
def _check_embeddings(device: object = None, dtype: object = torch.float32) -> None:
    check_device("device", device)
    check_float_dtype("dtype", dtype)


def _check_query_and_inputs(query: object, inputs: object) -> None:
    query = check_float_tensor("query", query, shapes={1: "(d,)"})
    inputs = check_float_tensor("inputs", inputs, shapes={2: "(tokens, d)"})
    check_last_dims_match("query", query, "inputs", inputs)
    check_same_device_and_dtype(query=query, inputs=inputs)


def _check_softmax(scores: object, dim: object = -1) -> None:
    scores = check_float_tensor(
        "scores", scores, shapes={1: "(tokens,)", 2: "(tokens, tokens)", 3: "(batch, tokens, tokens)"}
    )
    if isinstance(dim, bool) or not isinstance(dim, int) or not -scores.dim() <= dim < scores.dim():
        raise ValueError(f"dim must be an int in [{-scores.dim()}, {scores.dim() - 1}] for these scores, got {dim!r}")


def _check_all_tokens(inputs: object, *, scaled: object = False, causal: object = False) -> None:
    check_float_tensor("inputs", inputs, shapes={2: "(tokens, d)", 3: "(batch, tokens, d)"})
    check_bool("scaled", scaled)
    check_bool("causal", causal)


hello_shiny_sun = checked_by(_check_embeddings, hello_shiny_sun)
attention_scores = checked_by(_check_query_and_inputs, attention_scores)
softmax = checked_by(_check_softmax, softmax)
context_vector = checked_by(_check_query_and_inputs, context_vector)
context_vector_loop = checked_by(_check_query_and_inputs, context_vector_loop)
score_matrix = checked_by(_check_all_tokens, score_matrix)
attention_matrix = checked_by(_check_all_tokens, attention_matrix)
context_vectors = checked_by(_check_all_tokens, context_vectors)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figure.
CHAPTER = "simple-attention"


def _one_query(device: torch.device, dtype: torch.dtype) -> Outputs:
    x = moved(hello_shiny_sun(), device, dtype)
    return {"output": {"context": context_vector(x[TOKENS.index("shiny")], x)}}


def _all_tokens(device: torch.device, dtype: torch.dtype) -> Outputs:
    return {"output": {"context": context_vectors(moved(hello_shiny_sun(), device, dtype))}}


AGREEMENT = (
    Example(CHAPTER, 'context vector of "shiny" in "Hello shiny sun!"', _one_query),
    Example(CHAPTER, 'context vectors of "Hello shiny sun!" (matrix form)', _all_tokens),
)


def _weights_figure() -> Heatmap:
    return Heatmap(attention_matrix(hello_shiny_sun()), TOKENS)


FIGURES = {"weights": _weights_figure}
