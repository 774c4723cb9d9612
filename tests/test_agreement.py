"""The CPU/GPU agreement command: its CPU run, its table, its arguments, and (with CUDA) the GPU columns."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from attn_examples import __main__ as cli
from attn_examples import agreement
from attn_examples.agreement import (
    COLUMNS,
    ENGLISH,
    EXAMPLES,
    environment,
    format_difference,
    markdown_table,
    measure,
    resolve_device,
    run,
    unmeasured,
    write_results,
)
from attn_examples.chapters import chapter_modules
from attn_examples.results import AgreementRecord, read_results

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "agreement"
PAGE = ROOT / "docs" / "agreement.en.md"
CUDA = torch.cuda.is_available()

# Largest |CPU float32 − CPU float64| accepted. Every deterministic example works on values of order 1
# through a few dozen operations, each rounding by at most 2⁻²⁴ ≈ 6e-8 relative in float32:
# outputs stay below 1e-6, gradients (about twice as many operations, sums over tokens) below 2e-6.
# Measured on the project's CPU: 3e-8 to 4e-7 for outputs, up to 7e-7 for flash_attention's gradients.
F32_VS_F64 = {"output": 1e-6, "gradients": 2e-6}
# A whole trained model rounds through far more: the tiny GPT's 4 blocks (sums over 64 and 256 features) and a
# softmax over 256 bytes; measured 2.2e-6 on its probabilities.
WHOLE_MODELS = {"the trained tiny GPT on three lines of Measure for Measure": {"output": 1e-5}}
# Largest |GPU float32 − CPU float32| accepted: the guide's float32 tolerance for outputs
# (tests/helpers.py), five times more for gradients; float64 must agree to rounding.
GPU_F32 = {"output": 1e-5, "gradients": 5e-5}
GPU_F64 = 1e-12

BY_DESIGN = [e for e in EXAMPLES if e.by_design]
DROPOUT = next(e for e in EXAMPLES if "Dropout" in e.name)
RANDN_ON_DEVICE = next(e for e in BY_DESIGN if "randn" in e.name)
RANDN_MOVED = next(e for e in EXAMPLES if "then moved" in e.name)
TRITON = next(e for e in EXAMPLES if e.name.startswith("triton"))


@pytest.fixture(scope="module")
def cpu_records() -> list[AgreementRecord]:
    return run("cpu")


def _by_name(records: list[AgreementRecord]) -> dict[str, AgreementRecord]:
    return {r.example: r for r in records}


def test_every_example_is_measured_once(cpu_records) -> None:
    names = [e.name for e in EXAMPLES]
    assert len(set(names)) == len(names), "example names must be unique: the table is checked by name"
    assert [r.example for r in cpu_records] == names
    # one or more examples from every chapter module's page, collected from the modules themselves
    assert {e.chapter for e in EXAMPLES} >= {
        "simple-attention",
        "averaging-trick",
        "scaled-dot-product",
        "causal-attention",
        "multi-head-attention",
        "cross-attention",
        "backward-pass",
        "efficient-attention",
    }
    for module in chapter_modules():
        assert all(e.chapter == module.CHAPTER for e in getattr(module, "AGREEMENT", ())), module.__name__


@pytest.mark.parametrize(
    "example", [e for e in EXAMPLES if not e.by_design and e.float64 and e is not RANDN_MOVED], ids=lambda e: e.name
)
def test_float32_agrees_with_float64_on_the_cpu(cpu_records, example) -> None:
    record = _by_name(cpu_records)[example.name]
    for part, differences in record.parts().items():
        difference = differences.cpu_f32_vs_f64
        assert difference is not None and math.isfinite(difference)
        # float32 is not float64: a 0 would mean both runs computed in one precision
        limit = WHOLE_MODELS.get(example.name, F32_VS_F64)[part]
        assert 0 < difference < limit, (example.name, part, difference)


def test_examples_with_a_backward_pass_report_gradients(cpu_records) -> None:
    records = _by_name(cpu_records)
    with_gradients = {name for name, r in records.items() if r.gradients is not None}
    assert with_gradients >= {e.name for e in EXAMPLES if e.chapter in ("backward-pass", "efficient-attention")}
    flash = records["flash_attention, causal, 16×16 tiles"]
    assert flash.gradients is not None and flash.gradients.tensors == ("dk", "dq", "dv")


def test_device_columns_are_absent_on_the_cpu(cpu_records) -> None:
    for record in cpu_records:
        assert record.device == "cpu" and record.not_run is None
        assert record.differing_fraction_f32 is None
        for differences in record.parts().values():
            assert differences.device_f32_vs_cpu_f32 is None
            assert differences.device_f64_vs_cpu_f64 is None


def test_the_triton_row_has_no_float64_column(cpu_records) -> None:
    record = _by_name(cpu_records)[TRITON.name]
    assert record.gradients is not None
    assert record.output.cpu_f32_vs_f64 is None and record.gradients.cpu_f32_vs_f64 is None


def test_by_design_rows_exist_and_are_measured(cpu_records) -> None:
    records = _by_name(cpu_records)
    assert {DROPOUT.name, RANDN_ON_DEVICE.name} <= {e.name for e in BY_DESIGN}
    for example in BY_DESIGN:
        assert records[example.name].by_design is True
        assert example.note.startswith("by design")
        assert math.isfinite(records[example.name].output.cpu_f32_vs_f64)
    # what the page says about the CPU alone: a float64 draw is another sample, the dropout mask is not
    assert records[RANDN_ON_DEVICE.name].output.cpu_f32_vs_f64 > 0.1
    assert records[DROPOUT.name].output.cpu_f32_vs_f64 == 0
    # drawn on the CPU, then converted: exactly the same numbers
    assert records[RANDN_MOVED.name].output.cpu_f32_vs_f64 == 0


def test_device_plumbing_compares_cpu_with_itself() -> None:
    """The device columns' code, run with the CPU standing in for the GPU: every difference is 0."""
    cpu = torch.device("cpu")
    for example in EXAMPLES:
        record = agreement._measure(example, cpu, with_device=True)
        if example is TRITON:
            assert record.not_run == "needs CUDA"
            assert record.output.device_f32_vs_cpu_f32 is None
            continue
        for part, differences in record.parts().items():
            assert differences.device_f32_vs_cpu_f32 == 0, (example.name, part)
            assert differences.device_f64_vs_cpu_f64 == 0, (example.name, part)
        if example.by_design:
            assert record.differing_fraction_f32 == 0


def test_measuring_leaves_the_random_state_alone() -> None:
    torch.manual_seed(7)
    before = torch.get_rng_state()
    measure(DROPOUT, "cpu")
    assert torch.equal(torch.get_rng_state(), before)


def test_table_says_not_measured_without_a_gpu(cpu_records) -> None:
    env = environment("cpu") | {"gpu_available": False}
    table = markdown_table(cpu_records, env)
    heading, _, header, _, *rows = table.splitlines()
    assert "no GPU was available" in heading and f"torch {torch.__version__}" in heading and env["date"] in heading
    # no GPU, no GPU columns: the heading says why
    assert header.split("|")[1:-1] == [" chapter ", " example ", " CPU f32 vs f64 ", " note "]
    assert "its GPU columns appear once" in heading
    assert len(rows) == sum(len(r.parts()) for r in cpu_records)
    for row in rows:
        assert len(row.split(" | ")) == 4, row
    # chosen rather than missing: the heading says so
    assert "--device cpu" in markdown_table(cpu_records, env | {"gpu_available": True}).splitlines()[0]


def test_table_formats_gpu_numbers_when_there_are_some(cpu_records) -> None:
    first = cpu_records[0]
    output = dataclasses.replace(first.output, device_f32_vs_cpu_f32=3.14e-7, device_f64_vs_cpu_f64=0.0)
    records = [dataclasses.replace(first, output=output)]
    env = environment("cpu") | {"device": "cuda", "gpu": "Some GPU", "cuda": "12.8"}
    table = markdown_table(records, env)
    assert "comparing cuda (Some GPU, CUDA 12.8)" in table and "TF32 off" in table
    assert "| GPU f32 vs CPU f32 | GPU f64 vs CPU f64 |" in table.splitlines()[2]
    assert "| 3.1e-07 | 0 |" in table
    mps = markdown_table(records, env | {"device": "mps"})
    assert "no float64 on MPS" in mps


def test_format_difference() -> None:
    assert [format_difference(v) for v in (0.0, 0, 1.0, 3.14159e-7, 2.2e-16, 12345.0, None)] == [
        "0",
        "0",
        "1.0e+00",
        "3.1e-07",
        "2.2e-16",
        "1.2e+04",
        "—",
    ]
    with pytest.raises(TypeError, match="number or None"):
        format_difference("1e-7")
    with pytest.raises(TypeError):
        format_difference(True)


def test_bad_arguments_raise_clear_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu")
    with pytest.raises(TypeError, match="device must be a str"):
        resolve_device(0)
    if not CUDA:
        with pytest.raises(ValueError, match="cannot use cuda"):
            resolve_device("cuda")
    with pytest.raises(TypeError, match="must be an Example"):
        measure("flash_attention")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Example objects"):
        run("cpu", examples=["flash_attention"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        write_results([], environment("cpu"), str(tmp_path))  # type: ignore[arg-type]
    (tmp_path / "bad.jsonl").write_text('{"chapter": "x"}\n')
    with pytest.raises(ValueError, match="environment line"):
        read_results(tmp_path / "bad.jsonl", AgreementRecord)
    with pytest.raises(ValueError, match="different tensors"):
        agreement.max_difference({"output": {"a": torch.zeros(1)}}, {"output": {"b": torch.zeros(1)}}, "output")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["agreement", "--device", "tpu"], "invalid choice"),
        (["agreement", "--dtype", "float32"], "unrecognized arguments"),
    ]
    + ([] if CUDA else [(["agreement", "--device", "cuda"], "cannot use cuda")]),
)
def test_cli_rejects_bad_arguments(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_writes_jsonl(tmp_path, capsys) -> None:
    assert cli.main(["agreement", "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "results.jsonl")]
    env, records = read_results(tmp_path / "results.jsonl", AgreementRecord)
    assert env["device"] == "cpu" and env["torch"] == torch.__version__
    assert env["gpu_available"] == agreement.gpu_available()
    assert [r.example for r in records] == [e.name for e in EXAMPLES]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]


def test_cli_prints_the_table_without_out(capsys) -> None:
    assert cli.main(["agreement", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Produced with torch") and "| chapter | example |" in out


def test_committed_results_hold_only_current_examples() -> None:
    """docs/agreement/ is regenerated (make agreement) when an example is renamed or removed; an example
    added since the last run has no record yet, and the table says so instead of leaving it out."""
    env, records = read_results(COMMITTED / "results.jsonl", AgreementRecord)
    names = [r.example for r in records]
    assert len(set(names)) == len(names)
    assert set(names) <= {e.name for e in EXAMPLES}, "stale rows: run make agreement"
    added = unmeasured(records)
    table = markdown_table([*records, *added], env)
    assert table.count(ENGLISH["not_measured_yet"]) == len(COLUMNS) * len(added)
    for example in EXAMPLES:
        cell = example.name.replace("|", "\\|")
        assert f"| {cell}" in table, f"{example.name!r} is missing from the table"


def test_page_says_plainly_whether_a_gpu_produced_the_table() -> None:
    env, records = read_results(COMMITTED / "results.jsonl", AgreementRecord)
    page = PAGE.read_text(encoding="utf-8")
    assert "<!-- agreement-table -->" in page
    without_gpu = env["device"] == "cpu"
    assert ("This table was produced without a GPU" in page) == without_gpu
    assert ("GPU f32 vs CPU f32" not in markdown_table(records, env)) == without_gpu


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_every_example_agrees_with_the_cpu_on_cuda_and_dropout_does_not() -> None:
    records = _by_name(run("cuda"))
    for example in EXAMPLES:
        record = records[example.name]
        if example is TRITON and record.not_run:
            continue  # Triton not installed
        assert record.not_run is None, example.name
        for part, differences in record.parts().items():
            f32, f64 = differences.device_f32_vs_cpu_f32, differences.device_f64_vs_cpu_f64
            assert f32 is not None, (example.name, part)
            if example.by_design:
                continue
            assert f32 <= GPU_F32[part], (example.name, part, f32)
            if example.float64:
                assert f64 is not None and f64 <= GPU_F64, (example.name, part, f64)
    # same seed, another generator: another mask, another sample
    assert records[DROPOUT.name].output.device_f32_vs_cpu_f32 > 0
    fraction = records[DROPOUT.name].differing_fraction_f32
    assert fraction is not None and fraction > 0
    assert records[RANDN_ON_DEVICE.name].output.device_f32_vs_cpu_f32 > 0.1
    assert records[RANDN_MOVED.name].output.device_f32_vs_cpu_f32 == 0


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_environment_names_the_gpu() -> None:
    env = environment("cuda")
    assert env["gpu"] and env["cuda"] and env["gpu_available"] is True
    table = markdown_table(run("cuda", EXAMPLES[:1]), env)
    assert "GPU f32 vs CPU f32" in table.splitlines()[2] and env["gpu"] in table.splitlines()[0]


def test_results_are_json(tmp_path, cpu_records) -> None:
    path = write_results(cpu_records, environment("cpu"), tmp_path / "nested")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(first["environment"]) >= {"torch", "device", "date", "gpu_available", "float32_matmul_precision"}
