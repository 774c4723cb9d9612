"""attn_examples.transformer, checked against PyTorch's layers and counters, by its properties and by its errors."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from attn_examples.transformer import (
    GPT2,
    FeedForward,
    MultiHeadCrossAttention,
    TransformerBlock,
    TransformerDecoderBlock,
    _gradients_figure,
    block_flops,
    block_parameters,
    gpt_parameters,
    last_block_gradient,
    layer_norm,
    to_torch_layer,
)
from tests.helpers import assert_close, randn, seeded


def _randomised(block: nn.Module) -> nn.Module:
    """``block`` with every parameter drawn at random (layer norms' ones and zeros included), in float64."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in block.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.3)
    return block.eval()


def test_layer_norm_is_nn_layer_norm() -> None:
    norm = _randomised(nn.LayerNorm(6).double())
    x = randn(2, 5, 6) * 3 + 1
    torch.testing.assert_close(layer_norm(x, norm.weight, norm.bias), norm(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("causal", [True, False])
def test_block_is_pytorchs_encoder_layer(norm_first: bool, causal: bool) -> None:
    block = _randomised(
        seeded(TransformerBlock, 8, 2, context_length=10, d_ff=12, norm_first=norm_first, causal=causal)
    )
    layer = to_torch_layer(block).eval()
    assert isinstance(layer, nn.TransformerEncoderLayer) and layer.norm_first == norm_first
    x = randn(3, 7, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(7, dtype=torch.float64) if causal else None
    expected = layer(x, src_mask=mask, is_causal=causal)
    torch.testing.assert_close(block(x), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("causal", [True, False])
def test_decoder_block_is_pytorchs_decoder_layer(norm_first: bool, causal: bool) -> None:
    kwargs = {"d_ff": 16, "norm_first": norm_first, "causal": causal}
    block = _randomised(seeded(TransformerDecoderBlock, 8, 4, context_length=10, **kwargs))
    layer = to_torch_layer(block).eval()
    assert isinstance(layer, nn.TransformerDecoderLayer)
    x, memory = randn(2, 6, 8), randn(2, 9, 8, seed=1)
    mask = nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64) if causal else None
    expected = layer(x, memory, tgt_mask=mask, tgt_is_causal=causal)
    torch.testing.assert_close(block(x, memory), expected, rtol=0, atol=1e-10)


def test_key_padding_reaches_the_attention_as_in_pytorch() -> None:
    block = _randomised(seeded(TransformerBlock, 8, 2, context_length=6, causal=False))
    x, allowed = randn(2, 6, 8), torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    expected = to_torch_layer(block).eval()(x, src_key_padding_mask=~allowed)  # PyTorch's True hides
    torch.testing.assert_close(block(x, allowed)[0], expected[0], rtol=0, atol=1e-10)
    torch.testing.assert_close(block(x, allowed)[1, :4], expected[1, :4], rtol=0, atol=1e-10)


def test_dropout_acts_in_training_alone_and_matches_pytorch_with_the_same_seed() -> None:
    block = seeded(TransformerBlock, 8, 2, context_length=6, dropout=0.3, causal=False)
    layer, x = to_torch_layer(block), randn(1, 6, 8)
    assert layer.dropout.p == layer.dropout1.p == layer.self_attn.dropout == 0.3
    block.eval()
    torch.testing.assert_close(block(x), block(x), rtol=0, atol=0)
    block.train()
    assert not torch.allclose(block(x), block(x))


def test_a_causal_block_never_reads_the_future() -> None:
    block, x = _randomised(seeded(TransformerBlock, 8, 2, context_length=8)), randn(1, 8, 8)
    changed = x.clone()
    changed[:, 5:] += 1.0
    torch.testing.assert_close(block(changed)[:, :5], block(x)[:, :5], rtol=0, atol=0)
    assert not torch.allclose(block(changed)[:, 5:], block(x)[:, 5:])


def test_the_feed_forward_treats_each_token_alone() -> None:
    ff, x = seeded(FeedForward, 6, d_ff=10), randn(2, 5, 6)
    assert ff.expand.out_features == 10
    torch.testing.assert_close(ff(x)[:, 3], ff(x[:, 3:4])[:, 0], rtol=0, atol=1e-14)


def test_cross_attention_with_one_head_is_the_cross_attention_chapters_computation() -> None:
    cross, x, memory = seeded(MultiHeadCrossAttention, 4, 1), randn(1, 3, 4), randn(1, 5, 4, seed=1)
    q, k, v = cross.W_query(x), cross.W_key(memory), cross.W_value(memory)
    expected = cross.out_proj(torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1) @ v)
    torch.testing.assert_close(cross(x, memory), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("d_model", "d_ff"), [(8, None), (12, 20), (768, None)])
def test_parameter_counts_are_numel(d_model: int, d_ff: int | None) -> None:
    block = TransformerBlock(d_model, 4, context_length=4, d_ff=d_ff)
    assert block_parameters(d_model, d_ff) == sum(p.numel() for p in block.parameters())
    decoder = TransformerDecoderBlock(d_model, 4, context_length=4, d_ff=d_ff)
    assert block_parameters(d_model, d_ff, cross_attention=True) == sum(p.numel() for p in decoder.parameters())
    torch_layer = nn.TransformerEncoderLayer(d_model, 4, dim_feedforward=d_ff or 4 * d_model, batch_first=True)
    assert block_parameters(d_model, d_ff) == sum(p.numel() for p in torch_layer.parameters())


def test_gpt_parameters_are_gpt2s_published_totals() -> None:
    # the four released GPT-2 checkpoints hold these many numbers (token and position embeddings tied to
    # the output layer; Hugging Face's num_parameters() of gpt2, gpt2-medium, gpt2-large, gpt2-xl)
    published = {"GPT-2 small": 124_439_808, "GPT-2 medium": 354_823_168, "GPT-2 large": 774_030_080}
    published["GPT-2 XL"] = 1_557_611_200
    for name, sizes in GPT2.items():
        assert gpt_parameters(vocab=50257, context_length=1024, **sizes) == published[name]
    untied = gpt_parameters(vocab=50257, context_length=1024, d_model=768, layers=12, tied=False)
    assert untied - published["GPT-2 small"] == 50257 * 768


@pytest.mark.parametrize(("tokens", "d_model", "d_ff", "batch"), [(16, 8, None, 1), (10, 12, 20, 3)])
def test_flops_are_what_pytorchs_flop_counter_counts(tokens: int, d_model: int, d_ff: int | None, batch: int) -> None:
    block = TransformerBlock(d_model, 2, context_length=tokens, d_ff=d_ff, causal=False).eval()
    counter = FlopCounterMode(display=False)
    # PyTorch's math backend spells attention as matrix products, which the counter sees (it does not
    # know the CPU's fused kernel)
    with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        block(torch.rand(batch, tokens, d_model))
    assert block_flops(tokens, d_model, d_ff, batch) == counter.get_total_flops()


def test_post_norm_gradients_stay_while_pre_norm_ones_shrink_with_depth() -> None:
    lines = _gradients_figure()
    post, pre = lines.series["post-norm"], lines.series["pre-norm"]
    assert max(post) / min(post) < 1.2  # the same size at 3 and at 48 blocks
    assert pre[-1] < 0.6 * pre[0]  # 16 times the blocks: about 1/4 of the gradient, as 1/√layers
    assert all(later < earlier for earlier, later in itertools.pairwise(pre))
    assert last_block_gradient(True, 2) == last_block_gradient(True, 2)  # seeded


def test_each_device_gives_the_cpus_block(device: torch.device) -> None:
    block = _randomised(seeded(TransformerBlock, 8, 2, context_length=6)).float()
    x = randn(2, 6, 8, dtype=torch.float32)
    expected = block(x)
    assert_close(block.to(device)(x.to(device)).cpu(), expected)


X = torch.ones(1, 3, 8)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: layer_norm([1.0], torch.ones(1), torch.ones(1)), TypeError, "x must be a torch.Tensor"),
        (lambda: layer_norm(X, torch.ones(3), torch.ones(8)), ValueError, r"weight must have shape \(8,\)"),
        (lambda: layer_norm(X, torch.ones(8), torch.ones(8).double()), TypeError, "bias must have x's dtype"),
        (lambda: layer_norm(X, torch.ones(8), torch.ones(8), eps=0), ValueError, "eps must be a positive"),
        (lambda: TransformerBlock(8, 3, 4), ValueError, "d_model must be divisible by num_heads"),
        (lambda: TransformerBlock(8, 2, 0), ValueError, "context_length must be a positive integer"),
        (lambda: TransformerBlock(8, 2, 4, dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: TransformerBlock(8, 2, 4, norm_first="yes"), TypeError, "norm_first must be True or False"),
        (lambda: TransformerBlock(8, 2, 2)(X), ValueError, "context_length is 2"),
        (lambda: TransformerBlock(8, 2, 4)(X[0]), ValueError, r"x must have shape \(batch, tokens, d_model\)"),
        (lambda: TransformerBlock(8, 2, 4)(X.double()), TypeError, "x has dtype torch.float64"),
        (lambda: FeedForward(8)(torch.ones(1, 3, 4)), ValueError, "d_in=8 features"),
        (lambda: FeedForward(8, d_ff=0), ValueError, "d_ff must be a positive integer"),
        (lambda: MultiHeadCrossAttention(8, 2)(X, torch.ones(2, 5, 8)), ValueError, "same batch size"),
        (lambda: MultiHeadCrossAttention(8, 2)(X, torch.ones(1, 5, 4)), ValueError, "memory must have d_in=8"),
        (lambda: TransformerDecoderBlock(8, 2, 4)(X, torch.ones(5, 8)), ValueError, "memory must have shape"),
        (lambda: TransformerDecoderBlock(8, 2, 2)(X, X), ValueError, "context_length is 2"),
        (lambda: to_torch_layer(nn.Linear(2, 2)), TypeError, "expected a TransformerBlock"),
        (lambda: block_parameters(0), ValueError, "d_model must be a positive integer"),
        (lambda: block_parameters(8, cross_attention=1), TypeError, "cross_attention must be True or False"),
        (lambda: gpt_parameters(0, 16, 8, 2), ValueError, "vocab must be a positive integer"),
        (lambda: gpt_parameters(10, 16, 8, 2, tied="no"), TypeError, "tied must be True or False"),
        (lambda: block_flops(16, 8, batch=0), ValueError, "batch must be a positive integer"),
        (lambda: block_flops(1.5, 8), TypeError, "tokens must be a positive integer"),
        (lambda: last_block_gradient(True, 0), ValueError, "layers must be a positive integer"),
        (lambda: last_block_gradient(True, 2, d_model=6), ValueError, "divisible by the 4 heads"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
