"""The results files of bench and agreement: records round-trip, the committed files load, bad lines say where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attn_examples.results import AgreementRecord, BenchRecord, Differences, read_results, write_results

ROOT = Path(__file__).resolve().parent.parent
BENCH = BenchRecord("flash.py", "kernel", "forward", True, 512, 8, 12, 64, "float32", "cpu", 12.5, 3.0, 2e-7, 0.9)
AGREEMENT = AgreementRecord(
    chapter="backward-pass",
    example="attention_forward and attention_backward, BCE loss",
    by_design=False,
    note="gradients by hand, as on the page, not by autograd",
    device="cuda",
    not_run=None,
    output=Differences(3e-8, 1e-7, 0.0, ("loss", "z")),
    gradients=Differences(7e-7, 2e-7, 0.0, ("w_q", "x")),
    differing_fraction_f32=0.25,
)
ENV = {"torch": "2.x", "device": "cpu", "gpu": "Some GPU — ünïcode"}


@pytest.mark.parametrize(
    "record",
    [
        BENCH,
        AGREEMENT,
        AgreementRecord("index", "draw", True, "", "cpu", None, Differences(0.5, None, None, ("draw",))),
    ],
)
def test_records_round_trip(tmp_path, record) -> None:
    path = write_results(tmp_path / "results.jsonl", ENV, [record, record])
    assert read_results(path, type(record)) == (ENV, [record, record])


def test_the_file_is_json_lines_with_the_environment_first(tmp_path) -> None:
    lines = write_results(tmp_path / "results.jsonl", ENV, [BENCH]).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"environment": ENV}, BENCH.to_json()]
    assert "ünïcode" in lines[0]  # written as UTF-8, not escaped


def test_optional_agreement_fields_are_left_out_when_absent() -> None:
    record = AgreementRecord("index", "draw", False, "", "cpu", None, Differences(0.0, None, None, ("draw",)))
    assert list(record.to_json()) == ["chapter", "example", "by_design", "note", "device", "not_run", "output"]
    assert list(AGREEMENT.parts()) == ["output", "gradients"]


@pytest.mark.parametrize(
    "folder, record_type", [("docs/benchmarks/cpu", BenchRecord), ("docs/agreement", AgreementRecord)]
)
def test_the_committed_results_load_and_write_back_unchanged(tmp_path, folder, record_type) -> None:
    committed = ROOT / folder / "results.jsonl"
    env, records = read_results(committed, record_type)
    assert records and all(isinstance(r, record_type) for r in records)
    again = write_results(tmp_path / "results.jsonl", env, records)
    assert [json.loads(line) for line in again.read_text(encoding="utf-8").splitlines()] == [
        json.loads(line) for line in committed.read_text(encoding="utf-8").splitlines()
    ]


@pytest.mark.parametrize(
    "second_line, message",
    [
        ("{not json", "Expecting property name"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"implementation": "SDPA"}', "missing ['batch', 'causal'"),
        (json.dumps(BENCH.to_json() | {"colour": "red"}), "unknown ['colour']"),
    ],
)
def test_a_malformed_line_names_the_file_and_the_line(tmp_path, second_line, message) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"environment": ENV}) + "\n\n" + second_line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"results\.jsonl, line 3: ") as error:
        read_results(path, BenchRecord)
    assert message in str(error.value)


def test_a_file_without_its_environment_line_is_rejected(tmp_path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(BENCH.to_json()) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: expected the environment line"):
        read_results(path, BenchRecord)
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="environment line"):
        read_results(path, BenchRecord)


def test_write_results_wants_a_path(tmp_path) -> None:
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        write_results(str(tmp_path / "results.jsonl"), ENV, [BENCH])  # type: ignore[arg-type]
