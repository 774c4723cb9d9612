"""The benchmark harness, as a smoke run on tiny sizes (timings themselves are not tested)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from attn_examples import __main__ as cli
from attn_examples.bench import (
    ENGLISH,
    IMPLEMENTATIONS,
    Config,
    PeakMemory,
    attention_flops,
    decode_table,
    markdown_table,
    run,
    targets_table,
)
from attn_examples.results import BenchRecord, DecodeRecord, WindowRecord, read_results


def test_every_cpu_implementation_is_measured_and_accurate() -> None:
    config = Config(batch=1, heads=2, head_dim=8, tokens=(5, 16), repeats=1, warmup=0, threads=1)
    records = run(config, log=lambda line: None)
    cpu_names = {i.name for i in IMPLEMENTATIONS if "cpu" in i.devices}
    assert {r.implementation for r in records} == cpu_names
    for r in records:
        assert r.median_ms > 0 and r.peak_extra_mib >= 0
        assert r.max_abs_error < 1e-5, r  # float32 against the float64 reference
        assert (r.tflops is None) == (r.kind == "module")
    assert {r.sdpa_backend for r in records if r.implementation == "SDPA"} <= {
        "math",
        "flash",
        "efficient",
        "cudnn",
    }
    # the per-head wrapper is causal only
    assert not [r for r in records if r.implementation == "wrapper (per-head loop)" and not r.causal]


def test_peak_memory_sees_the_score_matrix_and_flash_avoids_it() -> None:
    from attn_examples.flash import flash_attention

    q = torch.randn(1, 1, 512, 16)
    with PeakMemory() as plain:
        torch.softmax(q @ q.transpose(-2, -1), dim=-1) @ q
    with PeakMemory() as tiled:
        flash_attention(q, q, q, block_q=64, block_k=64)
    assert plain.peak >= 2 * 512 * 512 * 4  # scores and weights
    assert tiled.peak < 512 * 512 * 4 / 4


def test_peak_memory_counts_views_and_in_place_results_once() -> None:
    x = torch.zeros(100)
    with PeakMemory() as mem:
        y = x.clone()
        y.add_(1)
        z = y.view(10, 10)
        del y
    assert mem.peak == 400 and z.shape == (10, 10)


def test_flops_follow_the_flashattention_convention() -> None:
    assert attention_flops(2, 3, 10, 4, causal=False, mode="forward") == 4 * 2 * 3 * 100 * 4
    assert attention_flops(2, 3, 10, 4, causal=True, mode="forward+backward") == 4 * 2 * 3 * 100 * 4 / 2 * 3.5


def test_cli_writes_jsonl_table_and_plot(tmp_path, capsys) -> None:
    code = cli.main(
        [
            "bench",
            "--batch",
            "1",
            "--heads",
            "1",
            "--head-dim",
            "4",
            "--tokens",
            "6",
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--modes",
            "forward",
            "--only",
            "SDPA",
            "flash.py",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert "torch" in json.loads(lines[0])["environment"]
    assert {json.loads(line)["implementation"] for line in lines[1:]} == {"SDPA", "flash.py"}
    table = (tmp_path / "results.md").read_text()
    assert "| flash.py |" in table and "(×" in table
    assert (tmp_path / "time.svg").read_text().lstrip().startswith("<?xml")
    assert "| forward | no | 6 |" not in (tmp_path / "targets.md").read_text()  # targets start at T = 512
    again = tmp_path / "again"
    assert cli.main(["bench", "--from-jsonl", str(tmp_path / "results.jsonl"), "--out", str(again), "--no-plot"]) == 0
    assert (again / "results.md").read_text() == table


def _record(implementation: str, tokens: int, median_ms: float, peak_extra_mib: float = 0.0) -> BenchRecord:
    """A forward, non-causal kernel record with the given name, size, time and memory."""
    return BenchRecord(
        implementation, "kernel", "forward", False, tokens, 1, 1, 8, "float32", "cpu", median_ms, peak_extra_mib, 0.0
    )


def test_markdown_table_marks_missing_cells() -> None:
    env = {"torch": "x", "processor": "cpu", "device": "cpu", "threads": 1}
    rows = [_record("scalar loops", 8, 1.0), _record("SDPA", 64, 1.0)]
    assert "| scalar loops | 1.0 | — |" in markdown_table(rows, env)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--batch", "0"], "batch must be a positive integer"),
        (["bench", "--tokens", "-3"], "tokens must be a positive integer"),
        (["bench", "--warmup", "-1"], "warmup must be a non-negative integer"),
    ],
)
def test_cli_rejects_bad_sizes(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def _no_timing(monkeypatch) -> None:
    """Make any measurement fail the test: every refusal must come before one."""

    def measured(*args, **kwargs):
        raise AssertionError("the command measured before refusing")

    monkeypatch.setattr("attn_examples.bench.run", measured)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--tokens", "64", "--only", "scalar loops"], "'scalar loops' measures nothing here: it runs"),
        (["bench", "--causal", "no", "--only", "wrapper (per-head loop)"], "with the causal mask only"),
        (["bench", "--only", "SDPA flash"], "'SDPA flash' measures nothing here: it runs on cuda"),
        (["bench", "--tokens"], "expected at least one argument"),
    ],
)
def test_cli_refuses_a_measurement_of_nothing_before_timing(argv, message, monkeypatch, capsys) -> None:
    _no_timing(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cli_refuses_a_device_that_is_not_there(monkeypatch, capsys) -> None:
    _no_timing(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--device", "cuda"])
    assert exit_info.value.code == 2 and "device 'cuda' is not available here" in capsys.readouterr().err


def test_cli_refuses_an_output_folder_it_cannot_write_before_timing(tmp_path, monkeypatch, capsys) -> None:
    _no_timing(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    for command in (["bench", "--tokens", "8"], ["agreement"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*command, "--out", str(blocker / "results")])
        assert exit_info.value.code == 2 and f"cannot write into {blocker / 'results'}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read"),
        ("", "holds no environment line"),
        ('{"environment": {}}\n', "no measurement in"),
        ("not json\n", "line 1: "),
    ],
    ids=["missing", "empty", "no records", "malformed"],
)
def test_cli_refuses_results_files_it_cannot_tabulate(tmp_path, content, message, capsys) -> None:
    path = tmp_path / "results.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--from-jsonl", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and len(err.strip().splitlines()) == 2  # usage + error
    assert not (tmp_path / "out").exists()


def test_config_refuses_empty_selections() -> None:
    for field in ("tokens", "modes", "causal"):
        with pytest.raises(ValueError, match=f"{field} must name at least one value"):
            Config(**{field: ()}).check()


def test_config_rejects_unknown_dtype() -> None:
    with pytest.raises(ValueError, match="dtype must be one of"):
        Config(dtype="int8").check()


def test_tables_speak_the_words_they_are_given() -> None:
    env = {"torch": "2.x", "processor": "x86_64", "device": "cpu", "threads": 2}
    words = {**ENGLISH, "measured": "Misurato con torch {torch} ({threads} thread), {dtype}.", "causal_no": "NO"}
    words |= {"implementation": "IMPL", "modes": {"forward": "FWD", "forward+backward": "FWD+BWD"}}
    rows = [_record("SDPA", 1024, 10.0, 20.0), _record("flash.py", 1024, 30.0, 30.0)]
    table = markdown_table(rows, env, words).splitlines()
    assert table[0] == "Misurato con torch 2.x (2 thread), float32."
    assert table[2].startswith("**FWD, not causal**: ") and table[4].startswith("| IMPL | T=1024 |")
    assert "| FWD | NO | 1024 | flash.py | 3.00 (≤ 1.3) | 1.50 |" in targets_table(rows, words=words)


def test_targets_table_compares_the_fastest_plain_version_with_sdpa() -> None:
    rows = [
        _record("SDPA", 1024, 10.0, 20.0),
        _record("batched matmul", 1024, 12.0, 800.0),
        _record("flash.py", 1024, 30.0, 30.0),
        _record("per-row loops", 1024, 50.0, 10.0),
        _record("SDPA", 256, 1.0, 1.0),
    ]
    table = targets_table(rows)
    assert "| forward | no | 1024 | batched matmul | 1.20 (≤ 1.3) | 1.50 |" in table.splitlines()
    assert "| 256 |" not in table and "Triton" not in table  # no Triton measured: no Triton columns
    with_triton = targets_table([*rows, dataclasses.replace(rows[0], implementation="Triton", median_ms=5.0)])
    assert with_triton.splitlines()[0].endswith("| Triton TFLOP/s (share of 989) |")
    assert "| forward | no | 1024 | batched matmul | 1.20 (≤ 1.3) | 1.50 | 2.00 |" in with_triton


def test_cli_says_which_line_of_a_results_file_is_malformed(tmp_path, capsys) -> None:
    bad = tmp_path / "results.jsonl"
    bad.write_text('{"environment": {}}\n{"implementation": "SDPA"}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--from-jsonl", str(bad), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2 and "results.jsonl, line 2: " in capsys.readouterr().err


def test_cli_times_generation_without_and_with_the_kv_cache(capsys) -> None:
    assert cli.main(["bench", "--decode", "2", "5", "--batch", "1", "--repeats", "1", "--warmup", "0"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[2] == "| new tokens | tokens/s without the cache | tokens/s with the cache | × with the cache |"
    rows = [line.split("|")[1:-1] for line in table[4:]]
    assert [int(row[0]) for row in rows] == [2, 5] and all(float(cell) > 0 for row in rows for cell in row[1:])


def test_cli_writes_the_decode_rates_as_records(tmp_path, capsys) -> None:
    argv = ["bench", "--decode", "3", "--batch", "2", "--repeats", "1", "--warmup", "0", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    env, records = read_results(tmp_path / "decode.jsonl", DecodeRecord)
    assert env["device"] == "cpu" and [(r.new_tokens, r.prompt, r.batch) for r in records] == [(3, 16, 2)]
    assert records[0].tokens_per_s_with > 0 and records[0].tokens_per_s_without > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--decode", "0"], "each --decode count must be a positive integer"),
        (["--decode", "3", "--batch", "0"], "batch must be a positive integer"),
        (["--kv-groups", "2"], "--kv-groups times generation: it needs --decode"),
        (["--window", "0"], "--window must be a positive integer"),
        (["--window", "4", "--decode", "3"], "give one of them"),
        (["--decode", "3", "--kv-groups", "3"], "must divide the 4 query heads (1, 2 or 4), got 3"),
    ],
)
def test_cli_refuses_a_bad_decode_request(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_cli_times_generation_for_each_number_of_key_value_heads(tmp_path) -> None:
    argv = ["bench", "--decode", "3", "--kv-groups", "4", "1", "--batch", "1", "--repeats", "1", "--warmup", "0"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    _, records = read_results(tmp_path / "decode-gqa.jsonl", DecodeRecord)
    assert [(r.kv_groups, r.new_tokens) for r in records] == [(4, 3), (1, 3)]
    table = decode_table(records, {"torch": "2", "processor": "x", "device": "cpu", "threads": 1}).splitlines()
    assert table[2].startswith("| key-value heads | new tokens |") and table[-1].startswith("| 1 | 3 |")


def test_cli_times_full_and_windowed_attention(tmp_path) -> None:
    argv = ["bench", "--window", "8", "--tokens", "32", "64", "--batch", "1", "--heads", "2", "--head-dim", "4"]
    assert cli.main([*argv, "--repeats", "1", "--warmup", "0", "--out", str(tmp_path)]) == 0
    _, records = read_results(tmp_path / "window.jsonl", WindowRecord)
    assert [(r.implementation, r.tokens) for r in records] == [
        (name, tokens) for tokens in (32, 64) for name in ("causal SDPA", "SDPA, band mask", "local_attention")
    ]
    assert all(r.median_ms > 0 and r.window == 8 for r in records)


def test_cli_ranks_times_ring_and_all_gather_attention(tmp_path, capsys) -> None:
    from attn_examples.results import RingRecord, read_results

    argv = ["bench", "--ranks", "2", "--tokens", "9", "--batch", "1", "--heads", "2", "--head-dim", "4"]
    argv += ["--repeats", "1", "--warmup", "0", "--causal", "yes", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    _, records = read_results(tmp_path / "ring.jsonl", RingRecord)
    assert [(r.implementation, r.layout) for r in records] == [
        ("ring_attention", "contiguous"),
        ("all_gather_attention", "contiguous"),
        ("ring_attention", "zigzag"),
        ("all_gather_attention", "zigzag"),
    ]
    for record in records:
        assert len(record.rank_ms) == 2 and record.max_abs_error < 1e-5 and record.peak_extra_mib > 0
        if record.implementation == "ring_attention":
            assert record.sent_mib == record.formula_mib > 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--ranks", "0"], "each --ranks count must be a positive integer"),
        (["bench", "--ranks", "4", "--tokens", "3"], "at least one token per rank"),
        (["bench", "--ranks", "2", "--window", "8"], "give one of them"),
    ],
)
def test_cli_refuses_bad_ranks_before_timing(argv, message, monkeypatch, capsys) -> None:
    monkeypatch.setattr("attn_examples.bench.ring_timings", lambda *a, **k: pytest.fail("timed before refusing"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
