"""How closely the guide's examples agree between CPU and GPU, and between float32 and float64.

``python -m attn_examples agreement`` runs every worked example of the guide
up to four times: on the CPU in float32 and in float64, then on the device
under test in float32 and, where the device has it, float64. Each example
builds its inputs and modules on the CPU from a fixed seed and only then moves
them (the guide's convention), so every run starts from the same numbers. The
largest absolute difference of each comparison is written as JSON lines and
as a Markdown table that the page "agreement" includes.

Two examples differ on purpose: dropout and ``torch.randn`` drawn on the
device with the same seed as on the CPU. They are measured like the others,
never assumed equal or different.
"""

from __future__ import annotations

# --8<-- [start:imports]
import datetime
import importlib.util
import platform
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from attn_examples import __version__, results
from attn_examples.averaging import (
    DataDependentHead,
    running_average_loops,
    running_average_matmul,
    running_average_softmax,
)
from attn_examples.backward import attention_backward, attention_forward, bce_loss_and_grad, worked_example
from attn_examples.causal import CausalAttention
from attn_examples.cross import CrossAttention
from attn_examples.device import KNOWN_DEVICES, default_device, device_available
from attn_examples.flash import chunked_attention, flash_attention
from attn_examples.multihead import MultiHeadAttention, MultiHeadAttentionWrapper
from attn_examples.results import AgreementRecord, Differences, Environment
from attn_examples.self_attention import SelfAttentionV1, SelfAttentionV2, embed_sentence, your_journey
from attn_examples.simple import TOKENS, context_vector, context_vectors, hello_shiny_sun

# --8<-- [end:imports]

COLUMNS = ("cpu_f32_vs_f64", "device_f32_vs_cpu_f32", "device_f64_vs_cpu_f64")
NOT_MEASURED = "not measured"
# an entry counts as "different" in a by-design row when it moves by more than rounding could
DIFFERENT_ABOVE = 1e-4

CHAPTERS = {
    "index": ("CPU or GPU", "index.md#cpu-or-gpu"),
    "simple-attention": ("Simple attention", "simple-attention.md"),
    "averaging-trick": ("The averaging trick", "averaging-trick.md"),
    "scaled-dot-product": ("Scaled dot-product attention", "scaled-dot-product.md"),
    "causal-attention": ("Causal attention", "causal-attention.md"),
    "multi-head-attention": ("Multi-head attention", "multi-head-attention.md"),
    "cross-attention": ("Cross-attention", "cross-attention.md"),
    "backward-pass": ("The backward pass", "backward-pass.md"),
    "efficient-attention": ("Efficient attention", "efficient-attention.md"),
}


# --8<-- [start:examples]
# what one run of an example returns: {"output": {name: tensor}, "gradients": {name: tensor}}
Outputs = dict[str, dict[str, torch.Tensor]]


@dataclass(frozen=True)
class Example:
    """One worked example of the guide, as the agreement command runs it.

    ``run(device, dtype)`` builds everything on the CPU from a fixed seed,
    moves it to ``device`` and ``dtype``, and returns the named tensors of
    its ``"output"`` and, if it has a backward pass, its ``"gradients"``.
    ``reference`` replaces ``run`` for the CPU side when the example itself
    only runs on a GPU. ``requires`` says why it cannot run on a device, or
    returns None. ``by_design`` marks the rows expected to differ across
    devices.

    >>> example = EXAMPLES[0]
    >>> example.chapter, sorted(example.run(torch.device("cpu"), torch.float64)["output"])
    ('simple-attention', ['context'])
    """

    chapter: str
    name: str
    run: Callable[[torch.device, torch.dtype], Outputs]
    note: str = ""
    by_design: bool = False
    float64: bool = True
    reference: Callable[[torch.device, torch.dtype], Outputs] | None = None
    requires: Callable[[torch.device], str | None] | None = None


def _moved(t: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return t.to(device=device, dtype=dtype)


def _module_outputs(module: nn.Module, inputs: Sequence[torch.Tensor], d_out: torch.Tensor) -> Outputs:
    """The module's output and the gradients of ``Σ out·d_out`` for its inputs and parameters."""
    leaves = [x.detach().requires_grad_() for x in inputs]
    out = module(*leaves)
    names = [f"input {i}" for i in range(len(leaves))] + [name for name, _ in module.named_parameters()]
    grads = torch.autograd.grad(out, [*leaves, *module.parameters()], d_out)
    return {"output": {"output": out.detach()}, "gradients": dict(zip(names, grads, strict=True))}


def _kernel_outputs(
    fn: Callable[..., torch.Tensor], q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, d_out: torch.Tensor
) -> Outputs:
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    out = fn(*leaves)
    grads = torch.autograd.grad(out, leaves, d_out)
    return {"output": {"output": out.detach()}, "gradients": dict(zip(("dq", "dk", "dv"), grads, strict=True))}


def _simple_one_query(device: torch.device, dtype: torch.dtype) -> Outputs:
    x = _moved(hello_shiny_sun(), device, dtype)
    return {"output": {"context": context_vector(x[TOKENS.index("shiny")], x)}}


def _simple_all_tokens(device: torch.device, dtype: torch.dtype) -> Outputs:
    return {"output": {"context": context_vectors(_moved(hello_shiny_sun(), device, dtype))}}


def _running_average(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.device, torch.dtype], Outputs]:
    def run(device: torch.device, dtype: torch.dtype) -> Outputs:
        torch.manual_seed(1337)
        x = torch.randn(4, 8, 2)
        return {"output": {"average": fn(_moved(x, device, dtype))}}

    return run


def _data_dependent_head(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(1337)
    head = DataDependentHead(d_in=32, head_size=16, context_length=8)
    x = torch.randn(4, 8, 32)
    head.to(device=device, dtype=dtype)
    return {"output": {"output": head(_moved(x, device, dtype)).detach()}}


def _self_attention(cls: type[nn.Module]) -> Callable[[torch.device, torch.dtype], Outputs]:
    def run(device: torch.device, dtype: torch.dtype) -> Outputs:
        x = embed_sentence()  # seeds with 123 itself
        torch.manual_seed(123)
        module = cls(d_in=3, d_out=2, d_v=4).to(device=device, dtype=dtype)
        return {"output": {"context": module(_moved(x, device, dtype)).detach()}}

    return run


def _journey_batch() -> torch.Tensor:
    """The causal and multi-head pages' batch: "Your journey starts with one step", twice."""
    inputs = your_journey()
    return torch.stack((inputs, inputs))


def _causal(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    ca = CausalAttention(d_in=3, d_out=2, context_length=6).to(device=device, dtype=dtype)
    return {"output": {"context": ca(_moved(_journey_batch(), device, dtype)).detach()}}


def _wrapper(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    wrapper = MultiHeadAttentionWrapper(d_in=3, d_out=2, context_length=6, num_heads=2)
    wrapper.to(device=device, dtype=dtype)
    return {"output": {"context": wrapper(_moved(_journey_batch(), device, dtype)).detach()}}


def _multihead(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    mha = MultiHeadAttention(d_in=3, d_out=4, context_length=6, num_heads=2)
    d_out = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(0))
    mha.to(device=device, dtype=dtype)
    return _module_outputs(mha, [_moved(_journey_batch(), device, dtype)], _moved(d_out, device, dtype))


def _cross(device: torch.device, dtype: torch.dtype) -> Outputs:
    x_1 = embed_sentence()[None]  # 6 tokens
    torch.manual_seed(123)
    cross = CrossAttention(d_in=3, d_out=2, d_v=4)
    x_2 = torch.rand(1, 8, 3)  # 8 tokens
    cross.to(device=device, dtype=dtype)
    return {"output": {"context": cross(_moved(x_1, device, dtype), _moved(x_2, device, dtype)).detach()}}


def _manual_backward(device: torch.device, dtype: torch.dtype) -> Outputs:
    # float32 numbers, as every example's inputs, so that the float32 and float64 runs start from the same ones
    inputs = worked_example(dtype=torch.float32)
    x, w_q, w_k, w_v, w_out, target = (_moved(t, device, dtype) for t in inputs)
    fwd = attention_forward(x, w_q, w_k, w_v)
    loss, dz, dw_out = bce_loss_and_grad(fwd.z, w_out, target)
    grads = attention_backward(fwd, dz)
    return {
        "output": {"z": fwd.z, "loss": loss},
        "gradients": {"x": grads.x, "w_q": grads.w_q, "w_k": grads.w_k, "w_v": grads.w_v, "w_out": dw_out},
    }


def _qkv(device: torch.device, dtype: torch.dtype) -> list[torch.Tensor]:
    """q, k, v of shape (1, 2, 40, 16) and an output gradient, drawn on the CPU from seed 0."""
    q, k, v, d_out = torch.randn(4, 1, 2, 40, 16, generator=torch.Generator().manual_seed(0)).unbind(0)
    return [_moved(t, device, dtype) for t in (q, k, v, d_out)]


def _flash(device: torch.device, dtype: torch.dtype) -> Outputs:
    fn = lambda q, k, v: flash_attention(q, k, v, causal=True, block_q=16, block_k=16)  # noqa: E731
    return _kernel_outputs(fn, *_qkv(device, dtype))


def _chunked(device: torch.device, dtype: torch.dtype) -> Outputs:
    fn = lambda q, k, v: chunked_attention(q, k, v, causal=True, max_scores=100)  # noqa: E731
    return _kernel_outputs(fn, *_qkv(device, dtype))


def _triton(device: torch.device, dtype: torch.dtype) -> Outputs:
    from attn_examples.triton_flash import triton_flash_attention  # imported only where CUDA runs it

    fn = lambda q, k, v: triton_flash_attention(q, k, v, causal=True, block_m=16, block_n=16)  # noqa: E731
    return _kernel_outputs(fn, *_qkv(device, dtype))


def _sdpa_reference(device: torch.device, dtype: torch.dtype) -> Outputs:
    return _kernel_outputs(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), *_qkv(device, dtype)
    )


def _triton_requires(device: torch.device) -> str | None:
    if device.type != "cuda":
        return "needs CUDA"
    if importlib.util.find_spec("triton") is None:
        return 'needs Triton (pip install "attn-examples[triton]")'
    return None


def _dropout_on_device(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)  # seeds the CPU generator and every GPU's
    dropout = nn.Dropout(0.5)  # training mode: a fresh mask on every call
    return {"output": {"dropped": dropout(torch.ones(6, 6, device=device, dtype=dtype))}}


def _randn_on_device(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    return {"output": {"draw": torch.randn(6, 3, device=device, dtype=dtype)}}


def _randn_then_moved(device: torch.device, dtype: torch.dtype) -> Outputs:
    torch.manual_seed(123)
    return {"output": {"draw": _moved(torch.randn(6, 3), device, dtype)}}


EXAMPLES: tuple[Example, ...] = (
    Example("simple-attention", 'context vector of "shiny" in "Hello shiny sun!"', _simple_one_query),
    Example("simple-attention", 'context vectors of "Hello shiny sun!" (matrix form)', _simple_all_tokens),
    Example("averaging-trick", "running average with loops", _running_average(running_average_loops)),
    Example("averaging-trick", "running average as a matrix product", _running_average(running_average_matmul)),
    Example("averaging-trick", "running average as a masked softmax", _running_average(running_average_softmax)),
    Example("averaging-trick", "DataDependentHead(32, 16, 8)", _data_dependent_head),
    Example(
        "scaled-dot-product", 'SelfAttentionV1 on "Life is short, eat dessert first"', _self_attention(SelfAttentionV1)
    ),
    Example(
        "scaled-dot-product", 'SelfAttentionV2 on "Life is short, eat dessert first"', _self_attention(SelfAttentionV2)
    ),
    Example("causal-attention", "CausalAttention without dropout", _causal),
    Example("multi-head-attention", "MultiHeadAttentionWrapper, 2 heads", _wrapper),
    Example(
        "multi-head-attention",
        "MultiHeadAttention, 2 heads (fused SDPA)",
        _multihead,
        note="backward through the device's own SDPA kernel",
    ),
    Example("cross-attention", "CrossAttention, 6 query tokens over 8 key tokens", _cross),
    Example(
        "backward-pass",
        "attention_forward and attention_backward, BCE loss",
        _manual_backward,
        note="gradients by hand, as on the page, not by autograd",
    ),
    Example("efficient-attention", "flash_attention, causal, 16×16 tiles", _flash),
    Example("efficient-attention", "chunked_attention, causal", _chunked),
    Example(
        "efficient-attention",
        "triton_flash_attention, causal, 16×16 tiles",
        _triton,
        note="float16/bfloat16/float32 kernel on CUDA only; compared with PyTorch's SDPA on the CPU",
        float64=False,
        reference=_sdpa_reference,
        requires=_triton_requires,
    ),
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
# --8<-- [end:examples]


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

    >>> record = measure(EXAMPLES[0])
    >>> record.output.cpu_f32_vs_f64 < 1e-6, record.output.device_f32_vs_cpu_f32
    (True, None)
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

    >>> [r.example for r in run("cpu", EXAMPLES[:1])]
    ['context vector of "shiny" in "Hello shiny sun!"']
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


def _heading(env: Environment) -> str:
    device = str(env["device"])
    made = f"Produced with torch {env['torch']} on {env['date']} (UTC)"
    if device == "cpu":
        why = "no GPU was available" if not env["gpu_available"] else "the command ran with `--device cpu`"
        return (
            f"{made} on a CPU ({env['machine']}): {why}, so the GPU columns say “{NOT_MEASURED}” and hold no numbers."
        )
    detail = f"{env.get('gpu', device)}" + (f", CUDA {env['cuda']}" if env.get("cuda") else "")
    return (
        f"{made}, comparing {device} ({detail}) with the CPU ({env['machine']}); "
        "float32 matrix products at full precision (TF32 off)."
    )


def _cell(record: AgreementRecord, differences: Differences, column: str, env: Environment) -> str:
    if column != "cpu_f32_vs_f64" and str(env["device"]) == "cpu":
        return NOT_MEASURED
    if column != "cpu_f32_vs_f64" and record.not_run:
        return f"not run: {record.not_run}"
    if column == "device_f64_vs_cpu_f64" and str(env["device"]).startswith("mps"):
        return "no float64 on MPS"
    return format_difference(getattr(differences, column))


def markdown_table(records: Iterable[AgreementRecord], env: Environment) -> str:
    """A heading line, then one table row per example, two where it has gradients.

    >>> env = environment("cpu")
    >>> table = markdown_table(run("cpu", EXAMPLES[:1]), env)
    >>> "| not measured | not measured |" in table
    True
    """
    lines = [
        _heading(env),
        "",
        "| chapter | example | CPU f32 vs f64 | GPU f32 vs CPU f32 | GPU f64 vs CPU f64 | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for record in records:
        title, link = CHAPTERS[record.chapter]
        for part, differences in record.parts().items():
            name = record.example
            if record.gradients is not None:  # two rows: say which is which
                name += ": gradients" if part == "gradients" else ": forward"
            note = record.note
            if record.differing_fraction_f32 is not None:
                note += f" ({record.differing_fraction_f32:.0%} of the entries differ in float32)"
            cells = [_cell(record, differences, column, env) for column in COLUMNS]
            name = name.replace("|", "\\|")
            lines.append(f"| [{title}]({link}) | {name} | " + " | ".join(cells) + f" | {note} |")
    return "\n".join(lines) + "\n"


def write_results(records: list[AgreementRecord], env: Environment, out_dir: Path) -> list[Path]:
    """Write ``results.jsonl`` (environment first, then one record per example) and ``table.md``.

    >>> import tempfile
    >>> from attn_examples.results import read_results
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_results(run("cpu", EXAMPLES[:1]), environment("cpu"), Path(folder))
    ...     [p.name for p in paths], len(read_results(paths[0], AgreementRecord)[1])
    (['results.jsonl', 'table.md'], 1)
    """
    if not isinstance(out_dir, Path):
        raise TypeError(f"out_dir must be a pathlib.Path, got {type(out_dir).__name__}")
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = results.write_results(out_dir / "results.jsonl", env, records)
    table = out_dir / "table.md"
    table.write_text(markdown_table(records, env), encoding="utf-8")
    return [jsonl, table]
