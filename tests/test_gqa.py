from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from attn_examples.gqa import (
    PUBLISHED,
    CacheShape,
    GroupedQueryAttention,
    LatentCache,
    MultiHeadLatentAttention,
)
from attn_examples.kv_cache import KVCache, TinyDecoder, cached_attention, generate, kv_cache_bytes
from attn_examples.multihead import MultiHeadAttention
from attn_examples.positions import POSITIONS, PositionalMultiHeadAttention
from attn_examples.results import DecodeRecord, read_results
from tests.helpers import assert_close, randn, seeded


def _gqa(groups: int, positions: str | None = None, heads: int = 4) -> GroupedQueryAttention:
    return seeded(
        GroupedQueryAttention, 6, 8, context_length=12, num_heads=heads, num_kv_groups=groups, positions=positions
    )


@pytest.mark.parametrize("groups", [1, 2, 4])
@pytest.mark.parametrize("positions", [None, "rope", "alibi"])
def test_grouped_query_attention_equals_sdpa_with_enable_gqa(groups: int, positions: str | None) -> None:
    gqa, x = _gqa(groups, positions), randn(3, 10, 6)
    queries, keys, values = gqa.heads(x)
    assert keys.shape == values.shape == (3, groups, 10, 2)
    allowed = torch.ones(10, 10, dtype=torch.bool).tril()
    mask = allowed if positions != "alibi" else gqa.alibi[:, :10, :10].masked_fill(~allowed, float("-inf"))
    context = F.scaled_dot_product_attention(queries, keys, values, attn_mask=mask, enable_gqa=True)
    expected = gqa.out_proj(context.transpose(1, 2).reshape(3, 10, 8))
    torch.testing.assert_close(gqa(x), expected, rtol=0, atol=1e-12)


def test_as_many_groups_as_heads_is_the_guides_multi_head_attention() -> None:
    gqa, x = _gqa(4), randn(2, 7, 6)
    mha = MultiHeadAttention(6, 8, context_length=12, num_heads=4).double()
    mha.load_state_dict(gqa.state_dict(), strict=False)
    for name in ("W_query", "W_key", "W_value", "out_proj"):
        assert torch.equal(getattr(mha, name).weight, getattr(gqa, name).weight)
    torch.testing.assert_close(gqa(x), mha(x), rtol=0, atol=1e-12)


def test_the_same_seed_gives_multi_head_attention_the_same_weights() -> None:
    torch.manual_seed(5)
    gqa = GroupedQueryAttention(6, 8, context_length=12, num_heads=4, num_kv_groups=4, positions="rope")
    torch.manual_seed(5)
    positional = PositionalMultiHeadAttention(6, 8, context_length=12, num_heads=4, positions="rope")
    assert all(torch.equal(a, b) for a, b in zip(gqa.parameters(), positional.parameters(), strict=True))


def test_fewer_groups_mean_fewer_key_and_value_parameters() -> None:
    counts = {g: sum(p.numel() for p in _gqa(g).parameters()) for g in (4, 2, 1)}
    per_group = 2 * 6 * 2  # W_key and W_value: d_in × head_dim each, per key-value head
    assert counts[4] - counts[2] == 2 * per_group and counts[2] - counts[1] == per_group


@pytest.mark.parametrize("positions", [None, *POSITIONS])
@pytest.mark.parametrize("groups", [1, 2])
def test_the_kv_cache_of_the_kv_cache_chapter_holds_only_the_groups(groups: int, positions: str | None) -> None:
    gqa, x = _gqa(groups, positions), randn(2, 9, 6)
    cache = KVCache(2, groups, 2, capacity=12, dtype=torch.float64)
    prompt = cached_attention(gqa, x[:, :4], cache)
    steps = [cached_attention(gqa, x[:, t : t + 1], cache) for t in range(4, 9)]
    torch.testing.assert_close(torch.cat([prompt, *steps], dim=1), gqa(x), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(batch, heads, head_dim\) = \(2, " + str(groups)):
        cached_attention(gqa, x[:, :1], KVCache(2, 4, 2, capacity=12, dtype=torch.float64))


def test_a_decoder_of_grouped_attention_generates_with_its_small_caches() -> None:
    torch.manual_seed(0)
    attention = functools.partial(GroupedQueryAttention, num_kv_groups=1)
    model = TinyDecoder(vocab=40, d_model=16, heads=4, layers=2, context_length=20, attention=attention).double()
    prompt = torch.randint(0, 40, (2, 5), generator=torch.Generator().manual_seed(1))
    assert model.new_caches(2, 17)[0].keys.shape == (2, 1, 17, 4)
    assert torch.equal(generate(model.eval(), prompt, 12), generate(model, prompt, 12, use_cache=False))


def _mla() -> MultiHeadLatentAttention:
    return seeded(MultiHeadLatentAttention, 6, 8, context_length=12, num_heads=2, latent_dim=3, rope_dim=2)


def test_caching_the_latent_gives_full_causal_attention_at_every_step() -> None:
    mla, x = _mla(), randn(3, 10, 6)
    cache = LatentCache(3, latent_dim=3, rope_dim=2, capacity=12, dtype=torch.float64)
    prompt = mla(x[:, :3], cache)
    steps = [mla(x[:, t : t + 1], cache) for t in range(3, 10)]
    torch.testing.assert_close(torch.cat([prompt, *steps], dim=1), mla(x), rtol=0, atol=1e-12)
    assert len(cache) == 10 and cache.latents.shape == (3, 12, 3)


def test_caching_the_latent_gives_what_caching_full_keys_and_values_gives() -> None:
    mla, x = _mla(), randn(2, 8, 6)
    latent_cache = LatentCache(2, latent_dim=3, rope_dim=2, capacity=8, dtype=torch.float64)
    full_keys, full_values, by_latent, by_keys = [], [], [], []
    for t in range(8):
        token = x[:, t : t + 1]
        by_latent.append(mla(token, latent_cache))
        latents, rope_keys = mla.latents(token, start=t)
        queries, keys, values = mla.heads(token, latents, rope_keys, start=t)  # this token's own keys and values
        full_keys.append(keys)
        full_values.append(values)
        context = F.scaled_dot_product_attention(queries, torch.cat(full_keys, 2), torch.cat(full_values, 2))
        by_keys.append(mla.out_proj(context.transpose(1, 2).reshape(2, 1, 8)))
    torch.testing.assert_close(torch.cat(by_latent, 1), torch.cat(by_keys, 1), rtol=0, atol=1e-12)
    # what each token costs: 3 + 2 numbers against 2 heads × (4 + 2) for the keys and 2 × 4 for the values
    assert latent_cache.latents[0, 0].numel() + latent_cache.rope_keys[0, 0].numel() == 5
    assert full_keys[0][0, :, 0].numel() + full_values[0][0, :, 0].numel() == 20


def test_the_up_projection_of_the_keys_folds_into_the_queries() -> None:
    # q_h · (c W_up_key[h]) = (q_h W_up_key[h]ᵀ) · c: scores straight from the cached latents
    mla, x = _mla(), randn(1, 5, 6)
    latents, rope_keys = mla.latents(x)
    queries, keys, _ = mla.heads(x, latents, rope_keys)
    content = queries[..., :4] @ keys[..., :4].transpose(-2, -1)
    up = mla.W_up_key.weight.view(2, 4, 3)  # per head: (head_dim, latent_dim)
    folded = (queries[..., :4] @ up) @ latents[:, None].transpose(-2, -1)
    torch.testing.assert_close(folded, content, rtol=0, atol=1e-12)


def test_positions_reach_the_scores_only_through_the_rope_parts_and_as_distances() -> None:
    mla, x = _mla(), randn(1, 4, 6)
    latents, rope_keys = mla.latents(x)
    shifted_latents, shifted_rope = mla.latents(x, start=5)
    assert torch.equal(latents, shifted_latents) and not torch.allclose(rope_keys, shifted_rope)

    def scores(start: int) -> torch.Tensor:
        queries, keys, _ = mla.heads(x, *mla.latents(x, start), start=start)
        return queries @ keys.transpose(-2, -1)

    torch.testing.assert_close(scores(5), scores(0), rtol=0, atol=1e-12)


def test_cache_shapes_give_the_published_bytes_per_token() -> None:
    bytes_per_token = {name: shape.bytes_per_token() for name, (_, shape) in PUBLISHED.items()}
    assert bytes_per_token == {
        "Llama-2-7B": 524288,
        "Llama-3-8B": 131072,
        "Llama-3-70B": 327680,
        "Falcon-7B": 8192,
        "DeepSeek-V2": 69120,
    }
    assert bytes_per_token["Llama-3-8B"] == kv_cache_bytes(32, 8, 128, tokens=1)
    # DeepSeek-V2's paper: MLA caches as much as grouped-query attention with 2.25 groups of 128
    assert CacheShape(60, latent_dim=512, rope_dim=64).bytes_per_token() == 2.25 * 2 * 60 * 128 * 2


def test_each_device_runs_grouped_and_latent_attention_as_the_cpu_does(device: torch.device) -> None:
    x = randn(2, 6, 6, dtype=torch.float32)
    for module in (_gqa(2, "rope").float(), _mla().float()):
        on_device = module.to(device)
        assert_close(on_device(x.to(device)).cpu(), module.cpu()(x))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: GroupedQueryAttention(6, 8, 12, num_heads=4, num_kv_groups=3),
            ValueError,
            r"divisors of 4 are \[1, 2, 4\]",
        ),
        (lambda: GroupedQueryAttention(6, 8, 12, num_heads=4, num_kv_groups=0), ValueError, "num_kv_groups must be"),
        (lambda: MultiHeadLatentAttention(6, 8, 12, 2, latent_dim=3, rope_dim=3), ValueError, "rope_dim must be even"),
        (lambda: _mla()(randn(1, 13, 6)), ValueError, "context_length"),
        (lambda: _mla()(randn(2, 1, 6), LatentCache(1, 3, 2, 4, dtype=torch.float64)), ValueError, "cache must hold"),
        (lambda: _mla()(randn(1, 1, 6), object()), TypeError, "LatentCache or None"),
        (
            lambda: LatentCache(1, 3, 2, 1).append(torch.zeros(1, 2, 3), torch.zeros(1, 2, 2)),
            ValueError,
            "cannot take 2",
        ),
        (lambda: CacheShape(32, kv_heads=8), ValueError, "either kv_heads and head_dim"),
        (lambda: CacheShape(32, kv_heads=8, head_dim=128, latent_dim=512), ValueError, "either kv_heads"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_the_recorded_decode_rates_are_faster_with_fewer_key_value_heads() -> None:
    # the numbers the chapter's page shows (make bench), read, not timed: one key-value head beats four
    _, records = read_results(
        Path(__file__).resolve().parent.parent / "docs/benchmarks/cpu/decode-gqa.jsonl", DecodeRecord
    )
    rates = {(r.kv_groups, r.new_tokens): r.tokens_per_s_with for r in records}
    assert {groups for groups, _ in rates} == {4, 2, 1}
    for tokens in {n for _, n in rates}:
        assert rates[1, tokens] > 1.1 * rates[4, tokens]
