"""Trainable self-attention and scaled dot-product attention: the chapter "scaled-dot-product".

Three learned matrices project each token into a query, a key and a value.
Scores are dot products of queries with keys, divided by the square root of
the key size, and the softmax of the scores weights the values.
"""

from __future__ import annotations

# --8<-- [start:imports]
# --8<-- [start:import_math]
import math

# --8<-- [end:import_math]
import torch
from torch import nn

# --8<-- [end:imports]
# isort: split
from collections.abc import Callable

from attn_examples._checks import (
    check_bool,
    check_device,
    check_float_dtype,
    check_float_tensor,
    check_module_input,
    check_positive_int,
    check_probability,
    check_same_device_and_dtype,
    checked_by,
    checked_methods,
)
from attn_examples.chapters import Example, Heatmap, Outputs, moved, positions


# --8<-- [start:functional]
def attention_weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax of the scaled scores ``q kᵀ / √d_k``; ``mask`` is True where a query may look.

    ``q`` has shape ``(..., tokens_q, d_k)`` and ``k`` ``(..., tokens_k, d_k)``;
    the weights have shape ``(..., tokens_q, tokens_k)`` and each row sums to 1.
    Half-precision inputs are scored in float32; the weights have q's dtype.

    >>> q = torch.tensor([[1.0, 0.0]])
    >>> k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> attention_weights(q, k)
    tensor([[0.6698, 0.3302]])
    """
    return _weights(q, k, mask).to(q.dtype)


# --8<-- [start:sdpa]
def _weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    # scores and softmax in float32 for half-precision inputs, as PyTorch computes them
    wide = torch.promote_types(q.dtype, torch.float32)
    scores = q.to(wide) @ k.to(wide).transpose(-2, -1) / math.sqrt(k.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """``softmax(q kᵀ / √d_k) v``, like ``torch.nn.functional.scaled_dot_product_attention``.

    ``mask`` (boolean, broadcastable to ``(..., tokens_q, tokens_k)``) is True
    where a query may attend to a key. ``dropout_p`` zeroes that fraction of
    the weights and scales the others by ``1 / (1 - dropout_p)``.

    >>> q = k = v = torch.eye(2)
    >>> scaled_dot_product_attention(q, k, v)
    tensor([[0.6698, 0.3302],
            [0.3302, 0.6698]])
    """
    weights = _weights(q, k, mask)  # float32 for half-precision inputs
    if dropout_p > 0.0:
        weights = torch.nn.functional.dropout(weights, p=dropout_p)
    return (weights @ v.to(weights.dtype)).to(v.dtype)


# --8<-- [end:sdpa]
# --8<-- [end:functional]


# --8<-- [start:v1]
class SelfAttentionV1(nn.Module):
    """Self-attention with its three projection matrices as plain ``nn.Parameter``s.

    Queries and keys have ``d_out`` features; values have ``d_v`` (``d_out``
    when omitted), which is also the size of the output.

    >>> torch.manual_seed(123)
    <torch._C.Generator object at ...>
    >>> sa = SelfAttentionV1(d_in=3, d_out=2)
    >>> sa(torch.rand(6, 3)).shape
    torch.Size([6, 2])
    """

    def __init__(self, d_in: int, d_out: int, d_v: int | None = None) -> None:
        super().__init__()
        d_v = d_out if d_v is None else d_v
        self.d_in = d_in
        self.W_query = nn.Parameter(torch.rand(d_in, d_out))
        self.W_key = nn.Parameter(torch.rand(d_in, d_out))
        self.W_value = nn.Parameter(torch.rand(d_in, d_v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        queries = x @ self.W_query
        keys = x @ self.W_key
        values = x @ self.W_value
        # scores and softmax in float32 for half-precision inputs, as PyTorch computes them
        wide = torch.promote_types(x.dtype, torch.float32)
        scores = queries.to(wide) @ keys.to(wide).transpose(-2, -1)
        weights = torch.softmax(scores / math.sqrt(keys.shape[-1]), dim=-1)
        return (weights @ values.to(wide)).to(values.dtype)


# --8<-- [end:v1]


# --8<-- [start:v2]
class SelfAttentionV2(nn.Module):
    """Self-attention with ``nn.Linear`` projections (no bias unless ``qkv_bias``).

    ``nn.Linear`` initialises its weights with a scale that suits training and
    stores its matrix transposed: ``W_query.weight`` has shape ``(d_out, d_in)``
    and ``W_query(x)`` computes ``x @ W_query.weight.T``.

    >>> torch.manual_seed(789)
    <torch._C.Generator object at ...>
    >>> sa = SelfAttentionV2(d_in=3, d_out=2)
    >>> sa(torch.rand(2, 6, 3)).shape
    torch.Size([2, 6, 2])
    """

    def __init__(self, d_in: int, d_out: int, d_v: int | None = None, qkv_bias: bool = False) -> None:
        super().__init__()
        d_v = d_out if d_v is None else d_v
        self.d_in = d_in
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_v, bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        queries = self.W_query(x)
        keys = self.W_key(x)
        values = self.W_value(x)
        return scaled_dot_product_attention(queries, keys, values)


# --8<-- [end:v2]


# --8<-- [start:transfer]
def v1_from_v2(v2: SelfAttentionV2) -> SelfAttentionV1:
    """Build a ``SelfAttentionV1`` that computes exactly what ``v2`` computes.

    ``nn.Linear`` stores ``W.T``, so each weight is transposed on the way.

    >>> v2 = SelfAttentionV2(3, 2)
    >>> x = torch.rand(6, 3)
    >>> torch.allclose(v1_from_v2(v2)(x), v2(x))
    True
    """
    v1 = SelfAttentionV1(v2.d_in, v2.W_query.out_features, v2.W_value.out_features)
    v1.to(device=v2.W_query.weight.device, dtype=v2.W_query.weight.dtype)
    with torch.no_grad():
        for name in ("W_query", "W_key", "W_value"):
            getattr(v1, name).copy_(getattr(v2, name).weight.T)
    return v1


# --8<-- [end:transfer]


# --8<-- [start:your_journey]
JOURNEY_TOKENS = ("Your", "journey", "starts", "with", "one", "step")


def your_journey(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return the 3-d embeddings of "Your journey starts with one step", one row per token.

    >>> your_journey()
    tensor([[0.4300, 0.1500, 0.8900],
            [0.5500, 0.8700, 0.6600],
            [0.5700, 0.8500, 0.6400],
            [0.2200, 0.5800, 0.3300],
            [0.7700, 0.2500, 0.1000],
            [0.0500, 0.8000, 0.5500]])
    """
    rows = [
        [0.43, 0.15, 0.89],  # Your
        [0.55, 0.87, 0.66],  # journey
        [0.57, 0.85, 0.64],  # starts
        [0.22, 0.58, 0.33],  # with
        [0.77, 0.25, 0.10],  # one
        [0.05, 0.80, 0.55],  # step
    ]
    return torch.tensor(rows, device=device, dtype=dtype)


# --8<-- [end:your_journey]


# --8<-- [start:life_is_short]
SENTENCE = "Life is short, eat dessert first"


def embed_sentence(sentence: str = SENTENCE, d: int = 3, seed: int = 123) -> torch.Tensor:
    """Embed each word of ``sentence`` with a seeded ``nn.Embedding`` over its own vocabulary.

    Words are numbered in alphabetical order; the embedding table has one row
    per distinct word, drawn on the CPU from ``seed``.

    >>> embed_sentence().shape
    torch.Size([6, 3])
    """
    words = sentence.replace(",", "").split()
    vocabulary = {word: i for i, word in enumerate(sorted(set(words)))}
    ids = torch.tensor([vocabulary[word] for word in words])
    with torch.random.fork_rng(devices=[]):  # seeded here, the caller's random state left as it was
        torch.manual_seed(seed)
        embedding = nn.Embedding(len(vocabulary), d)
    return embedding(ids).detach()


# --8<-- [end:life_is_short]


# --8<-- [start:why_scale]
def scaling_statistics(d_k: int, tokens: int = 8, samples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Measure what dividing by √d_k does to random scores of size-``d_k`` vectors.

    Queries and keys have independent standard normal entries. Returns the
    variance of ``q·k`` before and after scaling, and the mean largest softmax
    weight over ``tokens`` keys before and after scaling (1.0 means one key
    takes all the weight).

    >>> {name: round(value, 2) for name, value in scaling_statistics(64).items()}
    {'variance': 63.12, 'variance_scaled': 0.99, 'max_weight': 0.87, 'max_weight_scaled': 0.36}
    """
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(samples, 1, d_k, generator=generator, dtype=torch.float64)
    k = torch.randn(samples, tokens, d_k, generator=generator, dtype=torch.float64)
    scores = (q @ k.transpose(-2, -1)).squeeze(1)
    scaled = scores / math.sqrt(d_k)
    return {
        "variance": scores.var().item(),
        "variance_scaled": scaled.var().item(),
        "max_weight": torch.softmax(scores, dim=-1).amax(dim=-1).mean().item(),
        "max_weight_scaled": torch.softmax(scaled, dim=-1).amax(dim=-1).mean().item(),
    }


# --8<-- [end:why_scale]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _checked_q_k(q: object, k: object, mask: object) -> tuple[torch.Tensor, torch.Tensor]:
    q = check_float_tensor(
        "q", q, shapes={2: "(tokens_q, d_k)", 3: "(batch, tokens_q, d_k)", 4: "(batch, heads, tokens_q, d_k)"}
    )
    k = check_float_tensor("k", k, shapes={q.dim(): "with the same rank as q"})
    check_same_device_and_dtype(q=q, k=k)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same size d_k, got {q.shape[-1]} and {k.shape[-1]}")
    try:
        scores_shape = (*torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])
    except RuntimeError:
        raise ValueError(f"q and k must have the same batch shape, got {tuple(q.shape)} and {tuple(k.shape)}") from None
    if mask is None:
        return q, k
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a boolean tensor, True where a query may attend to a key")
    try:
        fits = torch.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(
            f"mask must broadcast to the scores' shape (..., tokens_q, tokens_k) = {tuple(scores_shape)}, "
            f"got {tuple(mask.shape)}"
        )
    if mask.device != q.device:
        raise ValueError(f"mask must be on the device of q, {q.device}, got {mask.device}")
    if not mask.any(dim=-1).all():
        raise ValueError("mask leaves a query with no key to attend to (a row with no True)")
    return q, k


def _check_attention_weights(q: object, k: object, mask: object = None) -> None:
    _checked_q_k(q, k, mask)


def _check_scaled_dot_product_attention(
    q: object, k: object, v: object, mask: object = None, dropout_p: object = 0.0
) -> None:
    check_probability("dropout_p", dropout_p)
    q, k = _checked_q_k(q, k, mask)
    v = check_float_tensor("v", v, shapes={q.dim(): "with the same rank as q"})
    check_same_device_and_dtype(q=q, v=v)
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"k and v must have the same number of tokens, got {k.shape[-2]} and {v.shape[-2]}")


def _check_v1_init(self: SelfAttentionV1, d_in: object, d_out: object, d_v: object = None) -> None:
    d_v = d_out if d_v is None else d_v
    for name, value in (("d_in", d_in), ("d_out", d_out), ("d_v", d_v)):
        check_positive_int(name, value)


def _check_v2_init(
    self: SelfAttentionV2, d_in: object, d_out: object, d_v: object = None, qkv_bias: object = False
) -> None:
    d_v = d_out if d_v is None else d_v
    for name, value in (("d_in", d_in), ("d_out", d_out), ("d_v", d_v)):
        check_positive_int(name, value)
    check_bool("qkv_bias", qkv_bias)


def _check_v1_forward(self: SelfAttentionV1, x: object) -> None:
    check_module_input("x", x, d_in=self.d_in, like=self.W_query)


def _check_v2_forward(self: SelfAttentionV2, x: object) -> None:
    check_module_input("x", x, d_in=self.d_in, like=self.W_query.weight)


def _check_v1_from_v2(v2: object) -> None:
    if not isinstance(v2, SelfAttentionV2):
        raise TypeError(f"expected a SelfAttentionV2, got {type(v2).__name__}")
    if v2.W_query.bias is not None:
        raise ValueError("SelfAttentionV1 has no biases: only a SelfAttentionV2 built with qkv_bias=False converts")


def _check_your_journey(device: object = None, dtype: object = torch.float32) -> None:
    check_device("device", device)
    check_float_dtype("dtype", dtype)


def _check_embed_sentence(sentence: object = SENTENCE, d: object = 3, seed: object = 123) -> None:
    if isinstance(sentence, str) and not sentence.replace(",", "").split():
        raise ValueError("sentence must contain at least one word")


def _check_scaling_statistics(d_k: object, tokens: object = 8, samples: object = 2000, seed: object = 0) -> None:
    check_positive_int("d_k", d_k)
    samples = check_positive_int("samples", samples)
    tokens = check_positive_int("tokens", tokens)
    if samples * tokens < 2:
        raise ValueError(f"a variance needs at least two scores, got samples={samples} × tokens={tokens}")


attention_weights = checked_by(_check_attention_weights, attention_weights)
scaled_dot_product_attention = checked_by(_check_scaled_dot_product_attention, scaled_dot_product_attention)
checked_methods(SelfAttentionV1, __init__=_check_v1_init, forward=_check_v1_forward)
checked_methods(SelfAttentionV2, __init__=_check_v2_init, forward=_check_v2_forward)
v1_from_v2 = checked_by(_check_v1_from_v2, v1_from_v2)
your_journey = checked_by(_check_your_journey, your_journey)
embed_sentence = checked_by(_check_embed_sentence, embed_sentence)
scaling_statistics = checked_by(_check_scaling_statistics, scaling_statistics)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "scaled-dot-product"


def _self_attention(cls: type[nn.Module]) -> Callable[[torch.device, torch.dtype], Outputs]:
    def run(device: torch.device, dtype: torch.dtype) -> Outputs:
        x = embed_sentence()  # seeds with 123 itself
        torch.manual_seed(123)
        module = cls(d_in=3, d_out=2, d_v=4).to(device=device, dtype=dtype)
        return {"output": {"context": module(moved(x, device, dtype)).detach()}}

    return run


AGREEMENT = (
    Example(CHAPTER, 'SelfAttentionV1 on "Life is short, eat dessert first"', _self_attention(SelfAttentionV1)),
    Example(CHAPTER, 'SelfAttentionV2 on "Life is short, eat dessert first"', _self_attention(SelfAttentionV2)),
)


def _initialisation_figure() -> Heatmap:
    torch.manual_seed(0)  # as the chapter's example
    x_wide = torch.randn(8, 512)
    torch.manual_seed(1)
    wide_v1 = SelfAttentionV1(d_in=512, d_out=64)
    wide_v2 = SelfAttentionV2(d_in=512, d_out=64)
    with torch.no_grad():
        weights = torch.stack(
            [
                attention_weights(x_wide @ wide_v1.W_query, x_wide @ wide_v1.W_key),
                attention_weights(wide_v2.W_query(x_wide), wide_v2.W_key(x_wide)),
            ]
        )
    return Heatmap(weights, positions(8), annotate=True)


FIGURES = {"initialisation": _initialisation_figure}
