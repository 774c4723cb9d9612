"""Ring attention on 1 to 4 gloo processes: equal to full attention, forward and backward, and every failure
ends every process with a clear error. Each world size is spawned once and runs all its cases."""

from __future__ import annotations

import time

import pytest
import torch
import torch.distributed as dist

from attn_examples import ring
from attn_examples.ring import (
    all_gather_attention,
    compare_with_full_attention,
    count_sent_bytes,
    gather_sequence,
    merge_partial,
    ring_attention,
    ring_bytes,
    scores_per_rank,
    shard_ranges,
    spawn,
    split_sequence,
)

# (tokens, batch, heads, head_dim): one that divides evenly, one that does not, pieces longer than a tile
# (ring.TILE), and one token per rank
CASES = [(24, 1, 2, 8), (13, 2, 3, 5), (2 * ring.TILE + 77, 1, 1, 4)]


def _all_cases(world_size: int) -> list[tuple[tuple, dict[str, float]]]:
    results = []
    for tokens, batch, heads, head_dim in [*CASES, (world_size, 1, 1, 4)]:
        for causal in (False, True):
            for layout in ring.LAYOUTS:
                args = (tokens, batch, heads, head_dim, causal, layout)
                results.append((args, compare_with_full_attention(*args, seed=tokens + world_size)))
        args = (tokens, batch, heads, head_dim, True, "zigzag")
        results.append(((*args, "all_gather"), compare_with_full_attention(*args, attention=all_gather_attention)))
    return results


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_ring_attention_equals_full_attention_forward_and_backward(world_size: int) -> None:
    for rank_results in spawn(_all_cases, world_size, world_size, timeout=120):
        for case, errors in rank_results:
            assert max(errors.values()) <= 1e-10, (case, errors)


def _in_a_subgroup() -> float | None:
    """Ranks 1 and 2 of three run ring attention in their own group; rank 0 stays out of it."""
    group = dist.new_group([1, 2])  # every process takes part in making a group
    if dist.get_rank() == 0:
        return None
    q, k, v = _draw(10, (1, 2, 4, 4))
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    rank = dist.get_rank(group)
    shards = [split_sequence(t, 2, rank) for t in (q, k, v)]
    out = ring_attention(*shards, causal=True, group=group)
    return (gather_sequence(out, group) - expected).abs().max().item()


def test_a_group_of_some_ranks_runs_its_own_ring() -> None:
    outside, *inside = spawn(_in_a_subgroup, 3)
    assert outside is None and max(inside) < 1e-6


def _sent_bytes(tokens: int, sizes: tuple[int, int, int, int]) -> tuple[int, int]:
    q, k, v = (split_sequence(t, dist.get_world_size(), dist.get_rank()) for t in _draw(tokens, sizes))
    with count_sent_bytes() as forward:
        out = ring_attention(q.requires_grad_(), k, v, causal=True)
    with count_sent_bytes() as backward:
        out.sum().backward()
    return forward.total, backward.total


def _draw(tokens: int, sizes: tuple[int, int, int, int]) -> list[torch.Tensor]:
    batch, heads, d_k, d_v = sizes
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, heads, tokens, d, generator=g) for d in (d_k, d_k, d_v)]


def test_bytes_sent_match_the_formula() -> None:
    tokens, sizes = 21, (2, 2, 8, 4)
    measured = spawn(_sent_bytes, 3, tokens, sizes)
    expected = ring_bytes(tokens, 3, sizes, torch.float32)
    assert [forward for forward, _ in measured] == expected
    # backward: the keys and values again, then every block's gradients one step further (float32 here too)
    lengths = [sum(b - a for a, b in r) for r in shard_ranges(tokens, 3)]
    per_token = 2 * 2 * (8 + 4) * 4
    assert [backward for _, backward in measured] == [
        sent + (tokens + lengths[r] - lengths[(r + 1) % 3]) * per_token for r, sent in enumerate(expected)
    ]


def test_zigzag_balances_causal_work_and_contiguous_does_not() -> None:
    for world_size in (2, 3, 4, 8):
        for tokens in (64, 1000, 1001):
            zigzag = scores_per_rank(tokens, world_size)
            contiguous = scores_per_rank(tokens, world_size, layout="contiguous")
            assert max(zigzag) / min(zigzag) < 1.15  # uneven pieces: 64 tokens on 3 ranks give 1.11
            assert max(contiguous) / min(contiguous) > 0.9 * world_size
            # without a mask every layout computes every score once
            assert sum(scores_per_rank(tokens, world_size, causal=False)) == tokens * tokens


@pytest.mark.parametrize("layout", ring.LAYOUTS)
@pytest.mark.parametrize(("tokens", "world_size"), [(8, 2), (13, 3), (5, 4), (4, 4), (100, 7)])
def test_shards_cover_the_sequence_once_and_differ_by_one_token_at_most(
    tokens: int, world_size: int, layout: str
) -> None:
    x = torch.arange(float(tokens))[:, None]
    shards = [split_sequence(x, world_size, r, layout) for r in range(world_size)]
    assert sorted(torch.cat(shards).flatten().tolist()) == x.flatten().tolist()
    lengths = [len(s) for s in shards]
    assert max(lengths) - min(lengths) <= 1 and min(lengths) >= 1


def _mismatched_head_dim() -> None:
    head_dim = 8 if dist.get_rank() == 0 else 16
    q = torch.randn(1, 2, 4, head_dim)
    ring_attention(q, q, q)


def _wrongly_cut() -> None:
    q = torch.randn(1, 2, 3 + 2 * dist.get_rank(), 8)  # 3 and 5 tokens: split_sequence cuts 8 into 4 and 4
    ring_attention(q, q, q, causal=True)


def _one_rank_fails() -> None:
    if dist.get_rank() == 1:
        raise RuntimeError("rank 1 could not load its data")
    q = torch.randn(1, 2, 4, 8)
    ring_attention(q, q, q)


def _one_rank_hangs() -> None:
    if dist.get_rank() == 1:
        time.sleep(60)
    q = torch.randn(1, 2, 4, 8)
    ring_attention(q, q, q)


@pytest.mark.parametrize(
    ("worker", "message"),
    [
        (_mismatched_head_dim, r"rank 0 passes sizes \[1, 2, 8, 8\].*rank 1 sizes \[1, 2, 16, 16\]"),
        (_wrongly_cut, r"cut as split_sequence\(x, 2, rank, 'zigzag'\) cuts 8 tokens: \[4, 4\].*got \[3, 5\]"),
        (_one_rank_fails, "rank 1 could not load its data"),
    ],
)
def test_a_failure_on_any_rank_ends_every_rank_with_its_error(worker, message: str) -> None:
    start = time.monotonic()
    with pytest.raises(Exception, match=message):
        spawn(worker, 2, timeout=30)
    assert time.monotonic() - start < 25  # not the timeout: the error itself ended the run


def test_a_rank_that_never_arrives_ends_the_others_at_the_timeout() -> None:
    start = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
        spawn(_one_rank_hangs, 2, timeout=3)
    assert time.monotonic() - start < 40


def test_merge_partial_is_attention_over_both_sets_of_keys() -> None:
    q, k, v = torch.randn(3, 2, 5, 7, 4, dtype=torch.float64).unbind(0)
    parts = []
    for keys in (slice(0, 3), slice(3, 7)):
        s = q @ k[..., keys, :].mT
        parts.append((torch.softmax(s, -1) @ v[..., keys, :], torch.logsumexp(s, -1)))
    out, lse = merge_partial(*parts[0], *parts[1])
    torch.testing.assert_close(out, torch.softmax(q @ k.mT, -1) @ v, rtol=0, atol=1e-12)
    torch.testing.assert_close(lse, torch.logsumexp(q @ k.mT, -1), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ring_attention(*torch.randn(3, 4, 8)), ValueError, r"\(batch, heads, local_tokens, head_dim\)"),
        (
            lambda: ring_attention(torch.randn(1, 1, 4, 8), torch.randn(1, 1, 5, 8), torch.randn(1, 1, 5, 8)),
            ValueError,
            "same positions",
        ),
        (lambda: ring_attention(*torch.randn(3, 1, 1, 4, 8), causal=1), TypeError, "causal"),
        (lambda: ring_attention(*torch.randn(3, 1, 1, 4, 8), layout="striped"), ValueError, "layout must be one of"),
        (lambda: ring_attention(*torch.randn(3, 1, 1, 4, 8)), RuntimeError, "torchrun"),
        (lambda: all_gather_attention(*torch.randn(3, 1, 1, 4, 8)), RuntimeError, "spawn"),
        (lambda: gather_sequence(torch.randn(1, 1, 4, 8)), RuntimeError, "torch.distributed initialised"),
        (lambda: split_sequence(torch.randn(3, 8), 4, 0), ValueError, "at least one token per rank"),
        (lambda: split_sequence(torch.randn(8, 8), 2, 2), ValueError, r"rank must be an int in 0..1"),
        (lambda: split_sequence(torch.randn(8), 2, 0), ValueError, r"\(tokens, features\)"),
        (lambda: shard_ranges(3, 0), ValueError, "world_size"),
        (lambda: ring_bytes(8, 2, (1, 2, 8), torch.float32), ValueError, r"\(batch, heads, d_k, d_v\)"),
        (lambda: ring_bytes(8, 2, (1, 2, 8, 8), torch.int64), TypeError, "dtype"),
        (lambda: scores_per_rank(8, 2, causal="yes"), TypeError, "causal"),
        (
            lambda: merge_partial(torch.ones(2, 3), torch.ones(2), torch.ones(2, 4), torch.ones(2)),
            ValueError,
            "one shape",
        ),
        (
            lambda: merge_partial(torch.ones(2, 3), torch.ones(3), torch.ones(2, 3), torch.ones(2)),
            ValueError,
            r"lse must have shape \(2,\)",
        ),
        (lambda: spawn(print, 0), ValueError, "world_size"),
        (lambda: spawn(print, 2, timeout=0), ValueError, "timeout"),
        (lambda: spawn(print, 2, backend="mpi"), ValueError, "backend"),
        (lambda: spawn("print", 2), TypeError, "fn must be a function"),
    ],
)
def test_bad_input_is_named_before_any_work(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_torchrun_starts_it_and_every_process_checks_itself() -> None:
    import re
    import subprocess
    import sys

    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "attn_examples.ring"]
    done = subprocess.run([*command, "--tokens", "37"], capture_output=True, text=True, timeout=120, check=True)
    lines = sorted(line for line in done.stdout.splitlines() if line.startswith("rank "))
    assert [line.split(" (")[0] for line in lines] == ["rank 0 of 2", "rank 1 of 2"]
    differences = [float(x) for x in re.findall(r"(\d\.\de[-+]\d+)", "".join(lines))]
    assert len(differences) == 8 and max(differences) <= 1e-10


def test_without_torchrun_the_command_says_how_to_start_it(capsys, monkeypatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        ring.main([])
    assert exit_info.value.code == 2 and "start it with torchrun" in capsys.readouterr().err
