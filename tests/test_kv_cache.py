from __future__ import annotations

from pathlib import Path

import pytest
import torch

from attn_examples.kv_cache import (
    CONTEXTS,
    FIGURES,
    KVCache,
    TinyDecoder,
    cached_attention,
    generate,
    kv_cache_bytes,
    kv_cache_table,
)
from attn_examples.positions import POSITIONS, PositionalMultiHeadAttention
from attn_examples.results import DecodeRecord, read_results
from tests.helpers import assert_close, randn, seeded

ROOT = Path(__file__).resolve().parent.parent

KINDS = [None, *POSITIONS]


def _module(positions: str | None, context_length: int = 12) -> PositionalMultiHeadAttention:
    return seeded(PositionalMultiHeadAttention, 6, 8, context_length=context_length, num_heads=2, positions=positions)


def _cache(batch: int = 3, capacity: int = 12, **kwargs) -> KVCache:
    return KVCache(batch, heads=2, head_dim=4, capacity=capacity, dtype=torch.float64, **kwargs)


@pytest.mark.parametrize("positions", KINDS)
def test_one_token_at_a_time_gives_every_row_of_full_causal_attention(positions: str | None) -> None:
    mha, x = _module(positions), randn(3, 10, 6)
    full, cache = mha(x), _cache()
    steps = torch.cat([cached_attention(mha, x[:, t : t + 1], cache) for t in range(10)], dim=1)
    torch.testing.assert_close(steps, full, rtol=0, atol=1e-12)
    assert len(cache) == 10


@pytest.mark.parametrize("positions", KINDS)
def test_a_prompt_at_once_then_one_token_per_step(positions: str | None) -> None:
    mha, x = _module(positions), randn(2, 9, 6)
    cache = _cache(batch=2)
    prompt = cached_attention(mha, x[:, :5], cache)
    steps = [cached_attention(mha, x[:, t : t + 1], cache) for t in range(5, 9)]
    torch.testing.assert_close(torch.cat([prompt, *steps], dim=1), mha(x), rtol=0, atol=1e-12)


def test_a_reset_cache_starts_the_next_sequence_from_position_zero() -> None:
    mha, cache = _module("rope"), _cache()
    for t in range(7):
        cached_attention(mha, randn(3, 1, 6, seed=t), cache)
    cache.reset()
    x = randn(3, 4, 6, seed=99)
    steps = torch.cat([cached_attention(mha, x[:, t : t + 1], cache) for t in range(4)], dim=1)
    torch.testing.assert_close(steps, mha(x), rtol=0, atol=1e-12)


def test_a_full_cache_refuses_more_unless_it_may_grow() -> None:
    mha, x = _module("rope"), randn(3, 10, 6)
    small = _cache(capacity=4)
    cached_attention(mha, x[:, :4], small)
    with pytest.raises(ValueError, match="holds 4 of its 4 tokens and cannot take 1 more"):
        cached_attention(mha, x[:, 4:5], small)
    growing = _cache(capacity=3, grow=True)
    steps = torch.cat([cached_attention(mha, x[:, t : t + 1], growing) for t in range(10)], dim=1)
    torch.testing.assert_close(steps, mha(x), rtol=0, atol=1e-12)
    assert growing.capacity == 12  # 3, 6, 12: doubled twice


def test_the_cache_holds_exactly_what_the_projections_gave() -> None:
    mha, x = _module(None), randn(1, 3, 6)
    cache = _cache(batch=1)
    cached_attention(mha, x, cache)
    keys = mha._split_heads(mha.W_key(x))
    assert torch.equal(cache.keys[:, :, :3], keys) and not cache.keys[:, :, 3:].any()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_steps_stay_near_float32(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    mha = PositionalMultiHeadAttention(16, 16, context_length=32, num_heads=4, positions="rope")
    x = torch.randn(1, 32, 16, generator=torch.Generator().manual_seed(1))
    expected = mha(x)
    half, cache = mha.to(dtype), KVCache(1, 4, 4, capacity=32, dtype=dtype)
    steps = torch.cat([cached_attention(half, x[:, t : t + 1].to(dtype), cache) for t in range(32)], dim=1)
    assert torch.isfinite(steps).all()
    torch.testing.assert_close(steps.float(), expected, rtol=0, atol=0.05)


def test_each_device_steps_as_the_cpu_does(device: torch.device) -> None:
    mha, x = _module("rope").float(), randn(3, 6, 6, dtype=torch.float32)
    cache = KVCache(3, 2, 4, capacity=12, device=device)
    on_device = _module("rope").float().to(device)
    steps = torch.cat([cached_attention(on_device, x[:, t : t + 1].to(device), cache) for t in range(6)], dim=1)
    assert_close(steps.cpu(), mha(x))


def test_generating_with_the_cache_gives_the_tokens_and_logits_of_generating_without() -> None:
    torch.manual_seed(0)
    model = TinyDecoder(vocab=50, d_model=16, heads=2, layers=2, context_length=20).double().eval()
    prompt = torch.randint(0, 50, (2, 5), generator=torch.Generator().manual_seed(1))
    tokens = generate(model, prompt, 12, use_cache=True)
    assert torch.equal(tokens, generate(model, prompt, 12, use_cache=False)) and tokens.shape == (2, 17)
    caches = model.new_caches(2, 17)
    stepwise = torch.cat(
        [model(tokens[:, :5], caches)] + [model(tokens[:, t : t + 1], caches) for t in range(5, 17)], 1
    )
    torch.testing.assert_close(stepwise, model(tokens), rtol=0, atol=1e-10)


def test_bytes_per_token_follow_the_formula() -> None:
    assert kv_cache_bytes(layers=12, kv_heads=12, head_dim=64, tokens=1024) == 2 * 12 * 12 * 64 * 2 * 1024
    assert kv_cache_bytes(1, 1, 1, 1, bytes_per_value=4) == 8
    table = kv_cache_table(contexts=(4096,))
    assert table["GPT-2 small"] == [144 * 2**20] and table["Mistral-7B"] == table["Llama-3-8B"] == [2**29]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: KVCache(0, 2, 4, 8), ValueError, "batch must be a positive integer"),
        (lambda: KVCache(1, 2, 4, 8, dtype=torch.int64), TypeError, "dtype must be a floating-point"),
        (lambda: _cache().append(torch.zeros(3, 2, 1, 5), torch.zeros(3, 2, 1, 5)), ValueError, "keys must have shape"),
        (lambda: _cache().append(torch.zeros(3, 2, 1, 4), torch.zeros(3, 2, 1, 4)), TypeError, "must have the cache's"),
        (lambda: cached_attention(_module(None), randn(2, 1, 6), _cache()), ValueError, r"\(batch, heads, head_dim\)"),
        (lambda: cached_attention(_module(None), randn(3, 13, 6), _cache()), ValueError, "context_length"),
        (lambda: cached_attention(object(), randn(3, 1, 6), _cache()), TypeError, "PositionalMultiHeadAttention"),
        (lambda: kv_cache_bytes(32, 8, 128, 0), ValueError, "tokens must be a positive integer"),
        (lambda: kv_cache_table(contexts=[4096]), TypeError, "contexts must be a non-empty tuple"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_the_memory_figure_draws_the_table_with_one_line_per_shape_of_cache() -> None:
    figure = FIGURES["memory"]()
    table = kv_cache_table(CONTEXTS)
    assert list(figure.series) == ["GPT-2 small", "Llama-2-7B", "Llama-3-8B, Mistral-7B"]
    assert figure.series["Llama-2-7B"] == tuple(size / 2**30 for size in table["Llama-2-7B"])
    assert figure.series["Llama-2-7B"][-1] == 64.0 and figure.x[-1] == 131072


def test_the_recorded_decode_rates_gain_more_from_the_cache_the_more_tokens_are_generated() -> None:
    # the numbers the chapter's page shows (make bench): read, not timed, so nothing here depends on this machine
    _, records = read_results(ROOT / "docs/benchmarks/cpu/decode.jsonl", DecodeRecord)
    counts = [r.new_tokens for r in records]
    assert counts == sorted(counts) and len(counts) >= 3
    speedups = [r.speedup for r in records]
    assert min(speedups) > 1 and speedups[-1] > 2 * speedups[0]
