"""The Transformer block: the chapter "transformer-block".

Attention mixes information across tokens; a Transformer block wraps it with what makes a deep stack
of such layers trainable: layer normalisation, residual connections, a position-wise feed-forward
network and dropout. The block here is built from the guide's ``MultiHeadAttention`` and holds the
same computation as PyTorch's ``nn.TransformerEncoderLayer`` (and, with cross-attention,
``nn.TransformerDecoderLayer``), whose weights it can hand over. It also counts what a block costs:
parameters and floating-point operations, for one block and for a whole GPT-2.
"""

from __future__ import annotations

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn

# --8<-- [end:imports]
# isort: split
from collections.abc import Callable

from attn_examples._checks import (
    check_bool,
    check_float_tensor,
    check_module_input,
    check_positive_int,
    check_probability,
    checked_by,
    checked_methods,
)
from attn_examples.chapters import Example, Lines, Outputs, module_outputs, moved
from attn_examples.multihead import MultiHeadAttention
from attn_examples.self_attention import your_journey


# --8<-- [start:layer_norm]
def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each token's features shifted to mean 0 and scaled to variance 1 (the biased variance, over the
    last dimension), then scaled by ``weight`` and shifted by ``bias``: what ``nn.LayerNorm`` computes.

    >>> x = torch.tensor([[1.0, 2.0, 3.0, 6.0]])
    >>> layer_norm(x, torch.ones(4), torch.zeros(4))
    tensor([[-1.0690, -0.5345,  0.0000,  1.6036]])
    """
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)  # divided by d, not d - 1
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias


# --8<-- [end:layer_norm]


# --8<-- [start:feed_forward]
class FeedForward(nn.Module):
    """The position-wise feed-forward network: every token alone goes through ``d_model → d_ff`` (GELU)
    ``→ d_model``; ``d_ff`` is ``4 * d_model`` unless given. Dropout follows the activation, as in
    PyTorch's layers.

    >>> FeedForward(d_model=8)(torch.rand(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model: int, d_ff: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        d_ff = 4 * d_model if d_ff is None else d_ff
        self.d_model, self.d_ff = d_model, d_ff
        self.expand = nn.Linear(d_model, d_ff)
        self.contract = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.contract(self.dropout(F.gelu(self.expand(x))))


# --8<-- [end:feed_forward]


# --8<-- [start:block]
class TransformerBlock(nn.Module):
    """Multi-head self-attention then a feed-forward network, each inside a residual connection, with a
    layer norm either before each (``norm_first=True``, pre-norm, as GPT-2 and most models since) or
    after each sum (``norm_first=False``, post-norm, as the original Transformer). Dropout hides some of
    the attention weights, some of the feed-forward's hidden features, and some of each branch's output
    before it is added to the residual stream. Input and output ``(batch, tokens, d_model)``; ``causal``
    as in ``MultiHeadAttention``, and ``forward(x, allowed_keys)`` takes its key-padding mask.

    >>> torch.manual_seed(123)
    <torch._C.Generator object at ...>
    >>> block = TransformerBlock(d_model=8, num_heads=2, context_length=6)
    >>> block(torch.rand(2, 6, 8)).shape
    torch.Size([2, 6, 8])
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        context_length: int,
        d_ff: int | None = None,
        dropout: float = 0.0,
        norm_first: bool = True,
        causal: bool = True,
    ) -> None:
        super().__init__()
        self.d_model, self.norm_first = d_model, norm_first
        self.attention = MultiHeadAttention(
            d_model, d_model, context_length, num_heads, dropout=dropout, qkv_bias=True, causal=causal
        )
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.norm_1, self.norm_2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)  # on each branch's output, before the sum

    def forward(self, x: torch.Tensor, allowed_keys: torch.Tensor | None = None) -> torch.Tensor:
        if self.norm_first:  # x + f(norm(x)): the sum itself is never normalised
            x = x + self.dropout(self.attention(self.norm_1(x), allowed_keys))
            return x + self.dropout(self.feed_forward(self.norm_2(x)))
        x = self.norm_1(x + self.dropout(self.attention(x, allowed_keys)))  # norm(x + f(x))
        return self.norm_2(x + self.dropout(self.feed_forward(x)))


# --8<-- [end:block]


# --8<-- [start:cross_block]
class MultiHeadCrossAttention(nn.Module):
    """Multi-head attention of ``x``'s tokens (queries) over ``memory``'s tokens (keys and values), both
    ``(batch, tokens, d_model)``: the chapter "cross-attention"'s computation, split into heads.

    >>> MultiHeadCrossAttention(d_model=8, num_heads=2)(torch.rand(1, 3, 8), torch.rand(1, 5, 8)).shape
    torch.Size([1, 3, 8])
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.d_model, self.num_heads, self.dropout_p = d_model, num_heads, float(dropout)
        self.W_query = nn.Linear(d_model, d_model)
        self.W_key = nn.Linear(d_model, d_model)
        self.W_value = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = t.shape  # -> (batch, heads, tokens, head_dim)
        return t.view(batch, tokens, self.num_heads, self.d_model // self.num_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        queries = self._split_heads(self.W_query(x))
        keys, values = self._split_heads(self.W_key(memory)), self._split_heads(self.W_value(memory))
        dropout_p = self.dropout_p if self.training else 0.0
        context = F.scaled_dot_product_attention(queries, keys, values, dropout_p=dropout_p)
        return self.out_proj(context.transpose(1, 2).reshape(x.shape))


class TransformerDecoderBlock(TransformerBlock):
    """A block of the original Transformer's decoder: (causal) self-attention, then cross-attention over
    the encoder's output ``memory``, then the feed-forward network, each in a residual connection with
    its own layer norm (``norm_3`` is the feed-forward's), pre-norm or post-norm as ``TransformerBlock``.

    >>> block = TransformerDecoderBlock(d_model=8, num_heads=2, context_length=6)
    >>> block(torch.rand(1, 6, 8), memory=torch.rand(1, 9, 8)).shape
    torch.Size([1, 6, 8])
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        context_length: int,
        d_ff: int | None = None,
        dropout: float = 0.0,
        norm_first: bool = True,
        causal: bool = True,
    ) -> None:
        super().__init__(d_model, num_heads, context_length, d_ff, dropout, norm_first, causal)
        self.cross_attention = MultiHeadCrossAttention(d_model, num_heads, dropout)
        self.norm_3 = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if self.norm_first:
            x = x + self.dropout(self.attention(self.norm_1(x)))
            x = x + self.dropout(self.cross_attention(self.norm_2(x), memory))
            return x + self.dropout(self.feed_forward(self.norm_3(x)))
        x = self.norm_1(x + self.dropout(self.attention(x)))
        x = self.norm_2(x + self.dropout(self.cross_attention(x, memory)))
        return self.norm_3(x + self.dropout(self.feed_forward(x)))


# --8<-- [end:cross_block]


# --8<-- [start:to_torch]
def _copy_attention(source: MultiHeadAttention | MultiHeadCrossAttention, target: nn.MultiheadAttention) -> None:
    projections = (source.W_query, source.W_key, source.W_value)
    target.in_proj_weight.copy_(torch.cat([p.weight for p in projections]))  # packed: query, key, value
    target.in_proj_bias.copy_(torch.cat([p.bias for p in projections]))
    target.out_proj.load_state_dict(source.out_proj.state_dict())


@torch.no_grad()
def to_torch_layer(block: TransformerBlock) -> nn.TransformerEncoderLayer | nn.TransformerDecoderLayer:
    """PyTorch's layer (``batch_first``, GELU) holding ``block``'s weights: an ``nn.TransformerEncoderLayer``
    for a ``TransformerBlock``, an ``nn.TransformerDecoderLayer`` for a ``TransformerDecoderBlock``. PyTorch
    takes the causal mask at each call (``is_causal=True`` with ``src_mask``/``tgt_mask``), not at build.

    >>> block = TransformerBlock(d_model=8, num_heads=2, context_length=6, causal=False).eval()
    >>> layer = to_torch_layer(block).eval()
    >>> x = torch.rand(1, 6, 8)
    >>> torch.allclose(block(x), layer(x), atol=1e-6)
    True
    """
    ff, weight = block.feed_forward, block.norm_1.weight
    kind = nn.TransformerDecoderLayer if isinstance(block, TransformerDecoderBlock) else nn.TransformerEncoderLayer
    layer = kind(
        block.d_model,
        block.attention.num_heads,
        dim_feedforward=ff.d_ff,
        dropout=block.attention.dropout_p,
        activation="gelu",
        batch_first=True,
        norm_first=block.norm_first,
        device=weight.device,
        dtype=weight.dtype,
    )
    _copy_attention(block.attention, layer.self_attn)
    layer.linear1.load_state_dict(ff.expand.state_dict())
    layer.linear2.load_state_dict(ff.contract.state_dict())
    layer.norm1.load_state_dict(block.norm_1.state_dict())
    layer.norm2.load_state_dict(block.norm_2.state_dict())
    if isinstance(block, TransformerDecoderBlock) and isinstance(layer, nn.TransformerDecoderLayer):
        _copy_attention(block.cross_attention, layer.multihead_attn)
        layer.norm3.load_state_dict(block.norm_3.state_dict())
    return layer


# --8<-- [end:to_torch]


# --8<-- [start:counts]
def block_parameters(d_model: int, d_ff: int | None = None, cross_attention: bool = False) -> int:
    """The parameters of one block: four ``d_model × d_model`` projections with biases per attention, two
    feed-forward layers with biases, and a weight and a bias per layer norm.

    >>> block_parameters(768)  # one GPT-2 small block
    7087872
    """
    d_ff = 4 * d_model if d_ff is None else d_ff
    attention = 4 * (d_model * d_model + d_model)
    feed_forward = (d_model * d_ff + d_ff) + (d_ff * d_model + d_model)
    norm = 2 * d_model
    if cross_attention:
        return 2 * attention + feed_forward + 3 * norm
    return attention + feed_forward + 2 * norm


def gpt_parameters(
    vocab: int, context_length: int, d_model: int, layers: int, d_ff: int | None = None, tied: bool = True
) -> int:
    """The parameters of a GPT-2-style model: token and position embeddings, ``layers`` pre-norm blocks,
    a last layer norm, and an output layer that is the token embedding again when ``tied``.

    >>> gpt_parameters(vocab=50257, context_length=1024, d_model=768, layers=12)  # GPT-2 small
    124439808
    """
    embeddings = vocab * d_model + context_length * d_model
    output = 0 if tied else vocab * d_model
    return embeddings + layers * block_parameters(d_model, d_ff) + 2 * d_model + output


def block_flops(tokens: int, d_model: int, d_ff: int | None = None, batch: int = 1) -> int:
    """Floating-point operations of one block's matrix products on a forward pass over ``tokens`` tokens,
    a multiply-add counted as two: the four projections (``8·T·d²``), the scores and the weighted sum of
    values (``2·T²·d`` each, every query against every key) and the feed-forward (``4·T·d·d_ff``). The
    norms, softmax and GELU add a few operations per number, not per product, and are left out.

    >>> block_flops(tokens=1024, d_model=768) / 1e9  # one GPT-2 small block, one sequence
    17.716740096
    """
    d_ff = 4 * d_model if d_ff is None else d_ff
    projections = 2 * tokens * d_model * (4 * d_model)
    attention = 2 * (2 * tokens * tokens * d_model)
    feed_forward = 2 * (2 * tokens * d_model * d_ff)
    return batch * (projections + attention + feed_forward)


# --8<-- [end:counts]

# GPT-2's four published sizes (Radford et al. 2019, and the sizes of the released weights): vocabulary
# 50,257, context 1,024, feed-forward 4·d_model, tied output layer
GPT2 = {
    "GPT-2 small": {"d_model": 768, "layers": 12},
    "GPT-2 medium": {"d_model": 1024, "layers": 24},
    "GPT-2 large": {"d_model": 1280, "layers": 36},
    "GPT-2 XL": {"d_model": 1600, "layers": 48},
}


# --8<-- [start:gradients]
def last_block_gradient(norm_first: bool, layers: int, d_model: int = 64, seed: int = 0) -> float:
    """The norm of the gradient that reaches the last block's feed-forward output weights at initialisation,
    in a stack of ``layers`` causal blocks (4 heads) on 8 sequences of 64 Gaussian tokens. The loss is the
    mean squared error of the output against a Gaussian target, after a last layer norm when the blocks
    are pre-norm (post-norm outputs are normalised already). Xiong et al. (2020) show that this gradient
    stays the same size however deep a post-norm stack is, but shrinks like ``1/√layers`` in a pre-norm
    one: a deep post-norm stack needs a learning-rate warm-up to survive its first steps.

    >>> round(last_block_gradient(norm_first=True, layers=12), 4), round(last_block_gradient(False, 12), 4)
    (0.0476, 0.0599)
    """
    torch.manual_seed(seed)
    blocks = [TransformerBlock(d_model, 4, 64, norm_first=norm_first) for _ in range(layers)]
    final = nn.LayerNorm(d_model) if norm_first else nn.Identity()
    x, target = torch.randn(2, 8, 64, d_model, generator=torch.Generator().manual_seed(seed))
    F.mse_loss(final(nn.Sequential(*blocks)(x)), target).backward()
    return float(blocks[-1].feed_forward.contract.weight.grad.norm())  # type: ignore[union-attr]


# --8<-- [end:gradients]


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_layer_norm(x: object, weight: object, bias: object, eps: object = 1e-5) -> None:
    x = check_float_tensor("x", x, shapes={1: "(d,)", 2: "(tokens, d)", 3: "(batch, tokens, d)"})
    d = x.shape[-1]
    for name, t in (("weight", weight), ("bias", bias)):
        t = check_float_tensor(name, t, shapes={1: "(d,)"})
        if t.shape != (d,):
            raise ValueError(f"{name} must have shape ({d},), one number per feature of x, got {tuple(t.shape)}")
        if t.dtype != x.dtype or t.device != x.device:
            raise TypeError(f"{name} must have x's dtype and device ({x.dtype}, {x.device}), got {t.dtype}, {t.device}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"eps must be a positive number (1e-5 in nn.LayerNorm), got {eps!r}")


def _check_feed_forward_init(self: object, d_model: object, d_ff: object = None, dropout: object = 0.0) -> None:
    check_positive_int("d_model", d_model)
    if d_ff is not None:
        check_positive_int("d_ff", d_ff)
    check_probability("dropout", dropout)


def _check_tokens(self: FeedForward, x: object) -> None:
    check_module_input("x", x, d_in=self.d_model, like=self.expand.weight)


def _check_block_init(
    self: object,
    d_model: object,
    num_heads: object,
    context_length: object,
    d_ff: object = None,
    dropout: object = 0.0,
    norm_first: object = True,
    causal: object = True,
) -> None:
    _check_cross_init(self, d_model, num_heads, dropout)
    check_positive_int("context_length", context_length)
    if d_ff is not None:
        check_positive_int("d_ff", d_ff)
    check_bool("norm_first", norm_first)
    check_bool("causal", causal)


def _check_cross_init(self: object, d_model: object, num_heads: object, dropout: object = 0.0) -> None:
    d_model, num_heads = check_positive_int("d_model", d_model), check_positive_int("num_heads", num_heads)
    if d_model % num_heads:
        raise ValueError(f"d_model must be divisible by num_heads, got d_model={d_model} and num_heads={num_heads}")
    check_probability("dropout", dropout)


def _check_batch(name: str, x: object, d_model: int, like: torch.Tensor, max_tokens: int | None = None) -> torch.Tensor:
    x = check_module_input(name, x, d_in=d_model, like=like, max_tokens=max_tokens)
    if x.dim() != 3:
        raise ValueError(f"{name} must have shape (batch, tokens, d_model), got {tuple(x.shape)}")
    return x


def _check_block_forward(self: TransformerBlock, x: object, allowed_keys: object = None) -> None:
    _check_batch(
        "x", x, self.d_model, self.norm_1.weight, self.attention.context_length
    )  # the attention checks the mask


def _check_cross_forward(self: MultiHeadCrossAttention, x: object, memory: object) -> None:
    x = _check_batch("x", x, self.d_model, self.W_query.weight)
    memory = _check_batch("memory", memory, self.d_model, self.W_query.weight)
    if memory.shape[0] != x.shape[0]:
        raise ValueError(f"x and memory must have the same batch size, got {x.shape[0]} and {memory.shape[0]}")


def _check_decoder_forward(self: TransformerDecoderBlock, x: object, memory: object) -> None:
    _check_batch("x", x, self.d_model, self.norm_1.weight, self.attention.context_length)
    _check_cross_forward(self.cross_attention, x, memory)


def _check_to_torch(block: object) -> None:
    if not isinstance(block, TransformerBlock):
        raise TypeError(f"expected a TransformerBlock or TransformerDecoderBlock, got {type(block).__name__}")


def _check_counts(d_model: object, d_ff: object = None, **sizes: object) -> None:
    check_positive_int("d_model", d_model)
    if d_ff is not None:
        check_positive_int("d_ff", d_ff)
    for name, value in sizes.items():
        if name in ("tied", "cross_attention"):
            check_bool(name, value)
        else:
            check_positive_int(name, value)


def _check_block_parameters(d_model: object, d_ff: object = None, cross_attention: object = False) -> None:
    _check_counts(d_model, d_ff, cross_attention=cross_attention)


def _check_gpt_parameters(
    vocab: object,
    context_length: object,
    d_model: object,
    layers: object,
    d_ff: object = None,
    tied: object = True,
) -> None:
    _check_counts(d_model, d_ff, vocab=vocab, context_length=context_length, layers=layers, tied=tied)


def _check_block_flops(tokens: object, d_model: object, d_ff: object = None, batch: object = 1) -> None:
    _check_counts(d_model, d_ff, tokens=tokens, batch=batch)


def _check_gradient(norm_first: object, layers: object, d_model: object = 64, seed: object = 0) -> None:
    check_bool("norm_first", norm_first)
    check_positive_int("layers", layers)
    if check_positive_int("d_model", d_model) % 4:
        raise ValueError(f"d_model must be divisible by the 4 heads, got {d_model}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")


layer_norm = checked_by(_check_layer_norm, layer_norm)
checked_methods(FeedForward, __init__=_check_feed_forward_init, forward=_check_tokens)
checked_methods(TransformerBlock, __init__=_check_block_init, forward=_check_block_forward)
checked_methods(MultiHeadCrossAttention, __init__=_check_cross_init, forward=_check_cross_forward)
checked_methods(TransformerDecoderBlock, forward=_check_decoder_forward)
to_torch_layer = checked_by(_check_to_torch, to_torch_layer)
block_parameters = checked_by(_check_block_parameters, block_parameters)
gpt_parameters = checked_by(_check_gpt_parameters, gpt_parameters)
block_flops = checked_by(_check_block_flops, block_flops)
last_block_gradient = checked_by(_check_gradient, last_block_gradient)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "transformer-block"


def _block_on_journey(norm_first: bool) -> Callable[[torch.device, torch.dtype], Outputs]:
    def run(device: torch.device, dtype: torch.dtype) -> Outputs:
        torch.manual_seed(123)  # as the page's examples
        block = TransformerBlock(d_model=3, num_heads=1, context_length=6, norm_first=norm_first)
        grad_out = torch.randn(1, 6, 3, generator=torch.Generator().manual_seed(0))
        block.to(device=device, dtype=dtype)
        return module_outputs(block, [moved(your_journey()[None], device, dtype)], moved(grad_out, device, dtype))

    return run


AGREEMENT = (
    Example(CHAPTER, "TransformerBlock, pre-norm, d_model 3", _block_on_journey(norm_first=True)),
    Example(CHAPTER, "TransformerBlock, post-norm, d_model 3", _block_on_journey(norm_first=False)),
)


DEPTHS = (3, 6, 12, 24, 48)  # the stacks of the figure "gradients"


def _gradients_figure() -> Lines:
    """The last block's gradient norm at initialisation against the number of blocks, post- and pre-norm."""
    return Lines(
        DEPTHS,
        {
            "post-norm": [last_block_gradient(norm_first=False, layers=n) for n in DEPTHS],
            "pre-norm": [last_block_gradient(norm_first=True, layers=n) for n in DEPTHS],
        },
        log=True,
    )


FIGURES = {"gradients": _gradients_figure}
