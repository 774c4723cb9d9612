"""The results of the measuring commands ``bench`` and ``agreement``, as records and as JSON lines.

A results file (``results.jsonl``) holds one JSON object per line: first
``{"environment": {...}}``, the machine and the versions the numbers come
from, then one record per line. ``BenchRecord`` is one timing of ``bench``,
``AgreementRecord`` one example of ``agreement``. ``write_results`` and
``read_results`` are the only code that writes or reads these files.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

# the machine, the versions and the date behind a run: the first line of a results file
Environment = dict[str, object]

R = TypeVar("R", "BenchRecord", "DecodeRecord", "WindowRecord", "RingRecord", "AgreementRecord")


def _check_keys(cls: type, data: Mapping[str, object]) -> None:
    """Check that ``data`` has every required field of the dataclass ``cls`` and no other key."""
    fields = dataclasses.fields(cls)
    required = {f.name for f in fields if f.default is dataclasses.MISSING}
    missing = sorted(required - set(data))
    unknown = sorted(set(data) - {f.name for f in fields})
    if missing or unknown:
        raise ValueError(
            f"a {cls.__name__} needs the keys {[f.name for f in fields]}; missing {missing}, unknown {unknown}"
        )


Flat = TypeVar("Flat", bound="FlatRecord")


class FlatRecord:
    """A record whose fields are JSON values as they stand: one JSON object per record, its keys the fields."""

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]  # the subclasses are dataclasses

    @classmethod
    def from_json(cls: type[Flat], data: Mapping[str, Any]) -> Flat:
        _check_keys(cls, data)
        return cls(**data)


@dataclass(frozen=True)
class BenchRecord(FlatRecord):
    """One measurement of ``bench``: one implementation at one (mode, causal, tokens).

    >>> record = BenchRecord("SDPA", "kernel", "forward", False, 128, 8, 12, 64, "float32", "cpu", 1.5, 3.0, 1e-7)
    >>> BenchRecord.from_json(record.to_json()) == record
    True
    """

    implementation: str
    kind: str
    mode: str
    causal: bool
    tokens: int
    batch: int
    heads: int
    head_dim: int
    dtype: str
    device: str
    median_ms: float
    peak_extra_mib: float
    max_abs_error: float
    tflops: float | None = None  # of the attention itself, for kernels; None for modules
    sdpa_backend: str | None = None  # the backend PyTorch picked, for the implementation "SDPA"


@dataclass(frozen=True)
class DecodeRecord(FlatRecord):
    """One rate of ``bench --decode``: tokens per second generating ``new_tokens`` after ``prompt`` tokens,
    without and with the KV cache (medians), with ``kv_groups`` key-value heads if they are shared.

    >>> record = DecodeRecord(32, 16, 1, "float32", "cpu", 350.0, 700.0)
    >>> DecodeRecord.from_json(record.to_json()) == record, record.speedup
    (True, 2.0)
    """

    new_tokens: int
    prompt: int
    batch: int
    dtype: str
    device: str
    tokens_per_s_without: float
    tokens_per_s_with: float
    kv_groups: int | None = None  # key-value heads of GroupedQueryAttention; None: PositionalMultiHeadAttention

    @property
    def speedup(self) -> float:
        """How many times faster generation is with the cache."""
        return self.tokens_per_s_with / self.tokens_per_s_without


@dataclass(frozen=True)
class WindowRecord(FlatRecord):
    """One timing of ``bench --window``: causal attention over ``tokens`` tokens, in full or within a sliding
    ``window``, by one implementation (median milliseconds, peak extra MiB).

    >>> record = WindowRecord("local_attention", 4096, 256, 1, 8, 64, "float32", "cpu", 38.9, 12.0)
    >>> WindowRecord.from_json(record.to_json()) == record
    True
    """

    implementation: str
    tokens: int
    window: int
    batch: int
    heads: int
    head_dim: int
    dtype: str
    device: str
    median_ms: float
    peak_extra_mib: float


@dataclass(frozen=True)
class RingRecord(FlatRecord):
    """One timing of ``bench --ranks``: attention over ``tokens`` tokens split across ``ranks`` processes, by
    ``ring_attention`` or ``all_gather_attention``: each rank's median milliseconds (the slowest sets the
    pace), the largest peak extra MiB and MiB sent of any rank (``sent_mib``: measured for the ring, with
    ``formula_mib`` from ``ring.ring_bytes``), and the largest difference from full attention.

    >>> record = RingRecord("ring_attention", 2, 1024, True, "zigzag", 1, 8, 64, "float32", "cpu",
    ...                     [10.0, 12.0], 4.0, 2.0, 2.0, 1e-7)
    >>> RingRecord.from_json(record.to_json()) == record, record.median_ms
    (True, 12.0)
    """

    implementation: str
    ranks: int
    tokens: int
    causal: bool
    layout: str
    batch: int
    heads: int
    head_dim: int
    dtype: str
    device: str
    rank_ms: list[float]
    peak_extra_mib: float
    sent_mib: float | None
    formula_mib: float | None
    max_abs_error: float

    @property
    def median_ms(self) -> float:
        """The time of the slowest rank: the others wait for it at the next collective."""
        return max(self.rank_ms)


@dataclass(frozen=True)
class Differences:
    """The largest absolute differences of one part (``"output"`` or ``"gradients"``) of an example.

    A column is None where it was not measured; ``tensors`` names the tensors compared.
    """

    cpu_f32_vs_f64: float | None
    device_f32_vs_cpu_f32: float | None
    device_f64_vs_cpu_f64: float | None
    tensors: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Differences:
        _check_keys(cls, data)
        return cls(**{**data, "tensors": tuple(data["tensors"])})


@dataclass(frozen=True)
class AgreementRecord:
    """The largest differences of one worked example in ``agreement``: its output and, if any, its gradients.

    ``not_run`` says why the example could not run on the device (None if it
    ran); ``differing_fraction_f32`` is measured for the rows that differ by
    design, when a device was compared.

    >>> same = Differences(3e-8, None, None, ("context",))
    >>> record = AgreementRecord("simple-attention", "context", False, "", "cpu", None, same)
    >>> record.parts() == {"output": same}, AgreementRecord.from_json(record.to_json()) == record
    (True, True)
    """

    chapter: str
    example: str
    by_design: bool
    note: str
    device: str
    not_run: str | None
    output: Differences
    gradients: Differences | None = None
    differing_fraction_f32: float | None = None

    def parts(self) -> dict[str, Differences]:
        """The parts measured, by name: ``"output"``, then ``"gradients"`` if the example has a backward pass."""
        return {"output": self.output} | ({} if self.gradients is None else {"gradients": self.gradients})

    def to_json(self) -> dict[str, object]:
        """Every field, less ``gradients`` and ``differing_fraction_f32`` when they are None."""
        data = dataclasses.asdict(self)
        for optional in ("gradients", "differing_fraction_f32"):
            if data[optional] is None:
                del data[optional]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AgreementRecord:
        _check_keys(cls, data)
        parts = {part: Differences.from_json(data[part]) for part in ("output", "gradients") if part in data}
        return cls(**{**data, **parts})


def write_results(
    path: Path,
    env: Environment,
    records: Iterable[BenchRecord | DecodeRecord | WindowRecord | RingRecord | AgreementRecord],
) -> Path:
    """Write ``env`` then one line per record into ``path``; return ``path``.

    >>> import tempfile
    >>> record = BenchRecord("SDPA", "kernel", "forward", False, 128, 8, 12, 64, "float32", "cpu", 1.5, 3.0, 1e-7)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_results(Path(folder) / "results.jsonl", {"device": "cpu"}, [record])
    ...     read_results(path, BenchRecord) == ({"device": "cpu"}, [record])
    True
    """
    if not isinstance(path, Path):
        raise TypeError(f"path must be a pathlib.Path, got {type(path).__name__}")
    lines = [{"environment": env}, *(record.to_json() for record in records)]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def writable_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and check that files can be written there, before any measurement.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as parent:
    ...     writable_folder(Path(parent) / "new").is_dir()
    True
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"cannot write into {folder}: {error.strerror or error}") from None
    return folder


def read_results(path: Path, record_type: type[R]) -> tuple[Environment, list[R]]:
    """The environment and the records of a results file written by ``write_results``.

    A line that is not a JSON object with the fields of ``record_type`` raises
    a ``ValueError`` that names the file and the line.
    """
    env: Environment | None = None
    records: list[R] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            if env is None:
                if set(data) != {"environment"} or not isinstance(data["environment"], dict):
                    raise ValueError(
                        'expected the environment line, {"environment": {...}}; was it written by write_results?'
                    )
                env = data["environment"]
            else:
                records.append(record_type.from_json(data))
        except (ValueError, TypeError) as error:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{path}, line {number}: {error}") from None
    if env is None:
        raise ValueError(f"{path} holds no environment line; was it written by write_results?")
    return env, records
