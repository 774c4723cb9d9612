"""How closely the guide's examples agree between CPU and GPU, and between float32 and float64.

``python -m attn_examples agreement`` runs every worked example of the guide
up to four times: on the CPU in float32 and in float64, then on the device
under test in float32 and, where the device has it, float64. Each example
builds its inputs and modules on the CPU from a fixed seed and only then moves
them (the guide's convention), so every run starts from the same numbers. The
largest absolute difference of each comparison is written as JSON lines
(``docs/agreement/results.jsonl``), from which the site builds the table of the
page "agreement" with :func:`markdown_table`.

The examples are the chapters' own: each chapter module lists its examples in
``AGREEMENT`` (:mod:`attn_examples.chapters`), and this module adds three.

Two of those three differ on purpose: dropout and ``torch.randn`` drawn on
the device with the same seed as on the CPU. They are measured like the others,
never assumed equal or different.
"""

from __future__ import annotations

import datetime
import importlib.util
import platform
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

# --8<-- [start:imports]
import torch
from torch import nn

# --8<-- [end:imports]
# isort: split
from attn_examples import __version__, results
from attn_examples.chapters import Example, Outputs, chapter_modules
from attn_examples.device import KNOWN_DEVICES, default_device, device_available
from attn_examples.results import AgreementRecord, Differences, Environment

COLUMNS = ("cpu_f32_vs_f64", "device_f32_vs_cpu_f32", "device_f64_vs_cpu_f64")


class TableWords(TypedDict):
    """The words of the agreement table, in one language: the site gives each page its own (attn/tables)."""

    produced: str  # with {torch} and {date}
    cpu_only: str  # a CPU run's heading, with {produced}, {machine} and {why}
    no_gpu: str  # a {why}
    cpu_chosen: str  # the other {why}
    with_device: str  # a GPU run's heading, with {produced}, {device}, {detail} and {machine}
    chapter: str
    example: str
    note: str
    columns: dict[str, str]  # each of COLUMNS
    not_measured_yet: str
    not_run: str  # with {why}: a reason the example's module gives
    no_float64: str  # with {device}
    forward: str  # with {example}: the first of an example's two rows
    gradients: str  # with {example}: the second
    differing: str  # with {percent}: how many entries of a by-design row differ in float32
    phrases: dict[str, str]  # the modules' English example names, notes and reasons → this language


ENGLISH: TableWords = {
    "produced": "Produced with torch {torch} on {date} (UTC)",
    "cpu_only": "{produced} on a CPU ({machine}): {why}, so the table compares float32 with float64 on the CPU "
    "alone; its GPU columns appear once `python -m attn_examples agreement` runs on a GPU.",
    "no_gpu": "no GPU was available",
    "cpu_chosen": "the command ran with `--device cpu`",
    "with_device": "{produced}, comparing {device} ({detail}) with the CPU ({machine}); float32 matrix products at "
    "full precision (TF32 off).",
    "chapter": "chapter",
    "example": "example",
    "note": "note",
    "columns": {
        "cpu_f32_vs_f64": "CPU f32 vs f64",
        "device_f32_vs_cpu_f32": "GPU f32 vs CPU f32",
        "device_f64_vs_cpu_f64": "GPU f64 vs CPU f64",
    },
    "not_measured_yet": "not measured yet",
    "not_run": "not run: {why}",
    "no_float64": "no float64 on {device}",
    "forward": "{example}: forward",
    "gradients": "{example}: gradients",
    "differing": "({percent}% of the entries differ in float32)",
    "phrases": {},
}
# an entry counts as "different" in a by-design row when it moves by more than rounding could
DIFFERENT_ABOVE = 1e-4


# --8<-- [start:examples]
# Random numbers drawn on each device from one seed: what each function returns is compared across devices
def _dropout_on_device(device: torch.device, dtype: torch.dtype) -> dict[str, dict[str, torch.Tensor]]:
    torch.manual_seed(123)  # seeds the CPU generator and every GPU's
    dropout = nn.Dropout(0.5)  # training mode: a fresh mask on every call
    return {"output": {"dropped": dropout(torch.ones(6, 6, device=device, dtype=dtype))}}


def _randn_on_device(device: torch.device, dtype: torch.dtype) -> dict[str, dict[str, torch.Tensor]]:
    torch.manual_seed(123)
    return {"output": {"draw": torch.randn(6, 3, device=device, dtype=dtype)}}


def _randn_then_moved(device: torch.device, dtype: torch.dtype) -> dict[str, dict[str, torch.Tensor]]:
    torch.manual_seed(123)
    return {"output": {"draw": torch.randn(6, 3).to(device=device, dtype=dtype)}}


# --8<-- [end:examples]


# Three examples that are not attention: random numbers drawn on each device from one seed
RANDOM_NUMBERS = (
    Example(
        "causal-attention",
        "nn.Dropout(0.5) after torch.manual_seed(123), mask drawn on the device",
        _dropout_on_device,
        by_design=True,
        note="by design: the device's generator draws another mask from the same seed",
    ),
    Example(
        "index",
        "torch.randn(6, 3) after torch.manual_seed(123), drawn on the device",
        _randn_on_device,
        by_design=True,
        note="by design: the CPU and the GPU generators give different numbers for one seed",
    ),
    Example(
        "index",
        "torch.randn(6, 3) after torch.manual_seed(123), drawn on the CPU then moved",
        _randn_then_moved,
        note="the guide's convention: identical numbers on every device",
    ),
)
# every chapter module's own examples (its AGREEMENT), then the three above
EXAMPLES: tuple[Example, ...] = (
    *(example for module in chapter_modules() for example in getattr(module, "AGREEMENT", ())),
    *RANDOM_NUMBERS,
)


def resolve_device(device: torch.device | str | None) -> torch.device:
    """The device to compare with the CPU: ``None`` means ``default_device()``.

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be one of ('cpu', 'cuda', 'mps'), got 'tpu'
    """
    if device is None:
        return default_device()
    if isinstance(device, torch.device):
        name = device.type
    elif isinstance(device, str):
        name = device.split(":")[0]
    else:
        raise TypeError(f"device must be a str, a torch.device or None, got {type(device).__name__}")
    if name not in KNOWN_DEVICES:
        raise ValueError(f"device must be one of {KNOWN_DEVICES}, got {device!r}")
    if not device_available(name):
        raise ValueError(
            f"PyTorch cannot use {name} on this machine; choose one of "
            f"{[d for d in KNOWN_DEVICES if device_available(d)]}"
        )
    return torch.device(device)


def has_float64(device: torch.device) -> bool:
    """Whether ``device`` computes in float64 (Apple's MPS does not).

    >>> has_float64(torch.device("cpu"))
    True
    """
    return device.type != "mps"


def max_difference(a: Outputs, b: Outputs, part: str) -> float | None:
    """Largest |a − b| over every tensor of ``part``, computed in float64 on the CPU; None if absent.

    >>> x = {"output": {"y": torch.tensor([1.0, 2.0])}}
    >>> max_difference(x, {"output": {"y": torch.tensor([1.0, 2.5])}}, "output")
    0.5
    """
    if part not in a:
        return None
    if a[part].keys() != b[part].keys():
        raise ValueError(f"the two runs return different tensors: {sorted(a[part])} and {sorted(b[part])}")
    return max((_cpu64(a[part][name]) - _cpu64(b[part][name])).abs().max().item() for name in a[part])


def differing_fraction(a: Outputs, b: Outputs, part: str = "output") -> float:
    """Fraction of the entries of ``part`` that differ by more than ``DIFFERENT_ABOVE``.

    >>> differing_fraction({"output": {"y": torch.tensor([0.0, 2.0])}}, {"output": {"y": torch.zeros(2)}})
    0.5
    """
    diffs = torch.cat([(_cpu64(a[part][n]) - _cpu64(b[part][n])).abs().flatten() for n in a[part]])
    return (diffs > DIFFERENT_ABOVE).double().mean().item()


def _cpu64(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(device="cpu", dtype=torch.float64)


@contextmanager
def full_float32_precision() -> Iterator[None]:
    """Float32 matrix products in full float32 (no TF32) inside the block; the old setting after it.

    >>> with full_float32_precision():
    ...     torch.get_float32_matmul_precision()
    'highest'
    """
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _call(run: Callable[[torch.device, torch.dtype], Outputs], device: torch.device, dtype: torch.dtype) -> Outputs:
    """One run, its seeding kept from leaking into the caller's random state."""
    gpus = []
    if device.type == "cuda":
        gpus = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=gpus), full_float32_precision():
        outputs = run(device, dtype)
    if device.type != "cpu":
        getattr(torch, device.type).synchronize()
    return outputs


def measure(example: Example, device: torch.device | str = "cpu") -> AgreementRecord:
    """Run ``example`` on the CPU and on ``device``; one record of its largest differences.

    With ``device`` the CPU, only the float32-vs-float64 column is measured;
    the device columns are None.

    >>> record = measure(RANDOM_NUMBERS[2])
    >>> record.output.cpu_f32_vs_f64, record.output.device_f32_vs_cpu_f32
    (0.0, None)
    """
    if not isinstance(example, Example):
        raise TypeError(f"example must be an Example, got {type(example).__name__}")
    device = resolve_device(device)
    return _measure(example, device, with_device=device.type != "cpu")


def _measure(example: Example, device: torch.device, with_device: bool) -> AgreementRecord:
    """``measure``'s work; ``with_device=True`` on the CPU runs the device columns CPU against CPU (tests)."""
    reason = example.requires(device) if example.requires and with_device else None
    with_device = with_device and reason is None
    reference = example.reference or example.run
    cpu = torch.device("cpu")
    cpu32 = _call(reference, cpu, torch.float32)
    cpu64 = _call(reference, cpu, torch.float64) if example.float64 else None
    dev32 = _call(example.run, device, torch.float32) if with_device else None
    dev64 = (
        _call(example.run, device, torch.float64) if with_device and example.float64 and has_float64(device) else None
    )

    def differences(part: str) -> Differences:
        return Differences(
            # without a float64 kernel (Triton), the CPU reference's float64 says nothing about the example
            cpu_f32_vs_f64=max_difference(cpu32, cpu64, part) if cpu64 and not example.reference else None,
            device_f32_vs_cpu_f32=max_difference(dev32, cpu32, part) if dev32 else None,
            device_f64_vs_cpu_f64=max_difference(dev64, cpu64, part) if dev64 and cpu64 is not None else None,
            tensors=tuple(sorted(cpu32[part])),
        )

    return AgreementRecord(
        chapter=example.chapter,
        example=example.name,
        by_design=example.by_design,
        note=example.note,
        device=str(device),
        not_run=reason,
        output=differences("output"),
        gradients=differences("gradients") if "gradients" in cpu32 else None,
        differing_fraction_f32=differing_fraction(dev32, cpu32) if example.by_design and dev32 is not None else None,
    )


def run(
    device: torch.device | str | None = None,
    examples: Iterable[Example] = EXAMPLES,
    log: Callable[[str], None] | None = None,
) -> list[AgreementRecord]:
    """Measure every example against ``device`` (default: ``default_device()``); one record each.

    >>> [r.example for r in run("cpu", RANDOM_NUMBERS[2:])]
    ['torch.randn(6, 3) after torch.manual_seed(123), drawn on the CPU then moved']
    """
    device = resolve_device(device)
    examples = list(examples)
    for example in examples:
        if not isinstance(example, Example):
            raise TypeError(f"examples must hold Example objects, got {type(example).__name__}")
    records = []
    for example in examples:
        records.append(measure(example, device))
        if log is not None:
            log(f"{example.chapter:22s} {example.name}")
    return records


def gpu_available() -> bool:
    """Whether this machine has a GPU that PyTorch can use (CUDA or MPS).

    >>> gpu_available() == (torch.cuda.is_available() or device_available("mps"))
    True
    """
    return device_available("cuda") or device_available("mps")


def environment(device: torch.device | str | None = None) -> Environment:
    """The machine, the versions and the date behind a run of ``run(device)``.

    >>> env = environment("cpu")
    >>> env["device"], env["torch"] == torch.__version__
    ('cpu', True)
    """
    device = resolve_device(device)
    env: Environment = {
        "attn_examples": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "device": str(device),
        "gpu_available": gpu_available(),
        "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "float32_matmul_precision": "highest",
        "triton": None,
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
        if importlib.util.find_spec("triton") is not None:
            import triton

            env["triton"] = triton.__version__
    elif device.type == "mps":
        env["gpu"] = "Apple MPS"
    return env


def format_difference(value: float | None) -> str:
    """A difference in scientific notation with two significant digits; exact zero as 0.

    >>> format_difference(3.1415e-7), format_difference(0.0), format_difference(None)
    ('3.1e-07', '0', '—')
    """
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value must be a number or None, got {type(value).__name__}")
    return "0" if value == 0 else f"{value:.1e}"


def _heading(env: Environment, words: TableWords) -> str:
    device = str(env["device"])
    produced = words["produced"].format(torch=env["torch"], date=env["date"])
    if device == "cpu":
        why = words["no_gpu"] if not env["gpu_available"] else words["cpu_chosen"]
        return words["cpu_only"].format(produced=produced, machine=env["machine"], why=why)
    detail = f"{env.get('gpu', device)}" + (f", CUDA {env['cuda']}" if env.get("cuda") else "")
    return words["with_device"].format(produced=produced, device=device, detail=detail, machine=env["machine"])


def _columns(env: Environment) -> tuple[str, ...]:
    """The table's columns of differences: the GPU's only when a GPU was measured."""
    return COLUMNS[:1] if str(env["device"]) == "cpu" else COLUMNS


def _cell(record: AgreementRecord, differences: Differences, column: str, env: Environment, words: TableWords) -> str:
    if column != "cpu_f32_vs_f64" and record.not_run:
        return words["not_run"].format(why=_say(record.not_run, words))
    if column == "device_f64_vs_cpu_f64" and str(env["device"]).startswith("mps"):
        return words["no_float64"].format(device="MPS")
    return format_difference(getattr(differences, column))


def _say(phrase: str, words: TableWords) -> str:
    """``phrase`` (an example's name, note or reason, as its module writes it) in the words' language."""
    return words["phrases"].get(phrase, phrase)


def english_phrases(rows: Iterable[AgreementRecord | Example]) -> set[str]:
    """The modules' own English in a table of ``rows``: example names, notes and reasons not to run.

    >>> "torch.randn(6, 3) after torch.manual_seed(123), drawn on the CPU then moved" in english_phrases(RANDOM_NUMBERS)
    True
    """
    found = set()
    for row in rows:
        found |= {row.name, row.note} if isinstance(row, Example) else {row.example, row.note, row.not_run or ""}
    return found - {""}


def _chapter_page(chapter: str) -> str:
    """The chapter column's default: a link to the chapter's page, named by the page."""
    return f"[{chapter}]({chapter}.md)"


def markdown_table(
    rows: Iterable[AgreementRecord | Example],
    env: Environment,
    chapter_cell: Callable[[str], str] = _chapter_page,
    words: TableWords = ENGLISH,
) -> str:
    """A heading line, then one table row per record, two where it has gradients, in ``words``.

    An ``Example`` among ``rows`` has no record in the run of ``env`` (it was
    added since): its row says "not measured yet". ``chapter_cell`` writes
    the chapter column from a chapter's page name; the site's table links
    each page under its title instead. The examples' names and notes are
    the modules' English unless ``words["phrases"]`` translates them.

    Without a GPU (``env`` of a CPU run) the table has no GPU columns, and its
    heading says why.

    >>> env = environment("cpu")
    >>> table = markdown_table([*run("cpu", RANDOM_NUMBERS[2:]), RANDOM_NUMBERS[1]], env)
    >>> table.splitlines()[2], table.count("not measured yet")
    ('| chapter | example | CPU f32 vs f64 | note |', 1)
    """
    columns = _columns(env)
    titles = [words["chapter"], words["example"], *(words["columns"][c] for c in columns), words["note"]]
    lines = [
        _heading(env, words),
        "",
        "| " + " | ".join(titles) + " |",
        "|---|---|" + "---:|" * len(columns) + "---|",
    ]
    for row in rows:
        if isinstance(row, Example):
            cells = [words["not_measured_yet"]] * len(columns)
            lines.append(_table_row(chapter_cell(row.chapter), _say(row.name, words), cells, _say(row.note, words)))
            continue
        for part, differences in row.parts().items():
            name = _say(row.example, words)
            if row.gradients is not None:  # two rows: say which is which
                name = words["gradients" if part == "gradients" else "forward"].format(example=name)
            note = _say(row.note, words)
            if row.differing_fraction_f32 is not None:
                note += " " + words["differing"].format(percent=round(100 * row.differing_fraction_f32))
            cells = [_cell(row, differences, column, env, words) for column in columns]
            lines.append(_table_row(chapter_cell(row.chapter), name, cells, note))
    return "\n".join(lines) + "\n"


def _table_row(chapter: str, name: str, cells: Sequence[str], note: str) -> str:
    name = name.replace("|", "\\|")
    return f"| {chapter} | {name} | " + " | ".join(cells) + f" | {note.strip()} |"


def unmeasured(records: Iterable[AgreementRecord], examples: Iterable[Example] = EXAMPLES) -> list[Example]:
    """The examples that none of ``records`` measured (added since those records were made).

    >>> [e.name for e in unmeasured(run("cpu", RANDOM_NUMBERS[:2]), RANDOM_NUMBERS)]
    ['torch.randn(6, 3) after torch.manual_seed(123), drawn on the CPU then moved']
    """
    measured = {record.example for record in records}
    return [example for example in examples if example.name not in measured]


def write_results(records: list[AgreementRecord], env: Environment, out_dir: Path) -> Path:
    """Write ``out_dir/results.jsonl``: the environment first, then one record per example.

    >>> import tempfile
    >>> from attn_examples.results import read_results
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_results(run("cpu", RANDOM_NUMBERS[2:]), environment("cpu"), Path(folder))
    ...     path.name, len(read_results(path, AgreementRecord)[1])
    ('results.jsonl', 1)
    """
    if not isinstance(out_dir, Path):
        raise TypeError(f"out_dir must be a pathlib.Path, got {type(out_dir).__name__}")
    out_dir.mkdir(parents=True, exist_ok=True)
    return results.write_results(out_dir / "results.jsonl", env, records)
