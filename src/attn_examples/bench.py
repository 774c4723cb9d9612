"""Time, memory and accuracy of every attention implementation in the guide: the chapter "benchmarks".

``python -m attn_examples bench --help`` lists the options. Each
implementation is timed on the same inputs, interleaved with the others so
that a slow moment of the machine hits all of them alike; the median of the
repeats is kept. The results are written as JSON lines, a Markdown table and
a plot.
"""

from __future__ import annotations

import argparse
import copy
import functools
import math
import platform
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

# isort: split
# --8<-- [start:imports]
import statistics
import time
import weakref
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

# --8<-- [end:imports]
# isort: split
import torch.nn.functional as F

from attn_examples import __version__, results
from attn_examples._checks import check_positive_int
from attn_examples.causal import causal_mask
from attn_examples.device import device_available
from attn_examples.flash import chunked_attention, flash_attention
from attn_examples.multihead import MultiHeadAttention, MultiHeadAttentionWrapper, to_torch_multihead
from attn_examples.results import BenchRecord, Environment
from attn_examples.self_attention import scaled_dot_product_attention

MODES = ("forward", "forward+backward")
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
# torch.nn.attention.SDPBackend values, as torch._fused_sdp_choice returns them
SDPA_BACKENDS = {0: "math", 1: "flash", 2: "efficient", 3: "cudnn", 4: "overrideable"}


# --8<-- [start:implementations]
@dataclass(frozen=True)
class Implementation:
    """One way of computing attention, as the benchmark calls it.

    ``kind`` is ``"kernel"`` (takes ``q, k, v`` of shape ``(batch, heads,
    tokens, head_dim)``) or ``"module"`` (takes ``x`` of shape ``(batch,
    tokens, heads·head_dim)`` and includes the projections).
    """

    name: str
    kind: str
    make: Callable[..., Any]  # a kernel's make(causal) returns fn(q, k, v); a module's: see _module
    max_tokens: int | None = None
    devices: tuple[str, ...] = ("cpu", "cuda", "mps")
    causal_only: bool = False


def _scalar_loops(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """Every score a Python-level dot product, as in the first chapter (tiny T only)."""
    out = torch.empty_like(q)
    scale = 1.0 / math.sqrt(q.shape[-1])
    for b in range(q.shape[0]):
        for h in range(q.shape[1]):
            for i in range(q.shape[2]):
                keys = range(i + 1) if causal else range(k.shape[2])
                scores = torch.stack([torch.dot(q[b, h, i], k[b, h, j]) * scale for j in keys])
                out[b, h, i] = torch.softmax(scores, dim=0) @ v[b, h, : len(keys)]
    return out


def _per_row_loops(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """One query row at a time, vectorised over batch and heads."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    rows = []
    for i in range(q.shape[-2]):
        stop = i + 1 if causal else k.shape[-2]
        scores = (q[..., i : i + 1, :] @ k[..., :stop, :].transpose(-2, -1)) * scale
        rows.append(torch.softmax(scores, dim=-1) @ v[..., :stop, :])
    return torch.cat(rows, dim=-2)


def _batched_matmul(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    mask = causal_mask(q.shape[-2], q.device) if causal else None
    return scaled_dot_product_attention(q, k, v, mask=mask)


def _sdpa(backend: str | None) -> Callable[..., Callable[..., torch.Tensor]]:
    def make(causal: bool) -> Callable[..., torch.Tensor]:
        def run(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            if backend is None:
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            from torch.nn.attention import SDPBackend, sdpa_kernel

            with sdpa_kernel(getattr(SDPBackend, backend)):
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        return run

    return make


def _kernel(fn: Callable[..., torch.Tensor]) -> Callable[..., Callable[..., torch.Tensor]]:
    return lambda causal: lambda q, k, v: fn(q, k, v, causal)


def _triton(causal: bool) -> Callable[..., torch.Tensor]:
    from attn_examples.triton_flash import triton_flash_attention

    return lambda q, k, v: triton_flash_attention(q, k, v, causal=causal)


def _module(build: Callable[[int, int, int, bool], torch.nn.Module], torch_mha: bool = False):
    """A module implementation: ``make(causal, d_model, heads, tokens, device, dtype)`` builds it, seeded."""

    def make(causal: bool, d_model: int, heads: int, tokens: int, device: torch.device, dtype: torch.dtype):
        torch.manual_seed(0)
        module = build(d_model, heads, tokens, causal).to(device=device, dtype=dtype)
        if not torch_mha:
            return module, module
        assert isinstance(module, MultiHeadAttention)  # the only module that torch_mha copies
        ours = module
        theirs = to_torch_multihead(ours)
        mask = causal_mask(tokens, device).logical_not() if causal else None
        return ours, lambda x: theirs(x, x, x, attn_mask=mask, is_causal=causal, need_weights=False)[0]

    return make


IMPLEMENTATIONS = [
    Implementation("scalar loops", "kernel", _kernel(_scalar_loops), max_tokens=32),
    Implementation("per-row loops", "kernel", _kernel(_per_row_loops), max_tokens=512),
    Implementation("batched matmul", "kernel", _kernel(_batched_matmul)),
    Implementation("chunked (flash.py)", "kernel", _kernel(lambda q, k, v, c: chunked_attention(q, k, v, causal=c))),
    Implementation("flash.py", "kernel", _kernel(lambda q, k, v, c: flash_attention(q, k, v, causal=c))),
    Implementation("SDPA", "kernel", _sdpa(None)),  # PyTorch picks the backend
    Implementation("SDPA flash", "kernel", _sdpa("FLASH_ATTENTION"), devices=("cuda",)),
    Implementation("SDPA efficient", "kernel", _sdpa("EFFICIENT_ATTENTION"), devices=("cuda",)),
    Implementation("SDPA cuDNN", "kernel", _sdpa("CUDNN_ATTENTION"), devices=("cuda",)),
    Implementation("SDPA math", "kernel", _sdpa("MATH"), devices=("cuda",)),
    # on a CPU the Triton kernels run in the interpreter: tested (tests/test_triton_flash.py), not timed
    Implementation("Triton", "kernel", _triton, devices=("cuda",)),
    Implementation(
        "wrapper (per-head loop)",
        "module",
        _module(lambda d, h, t, c: MultiHeadAttentionWrapper(d, d // h, t, h)),
        causal_only=True,
    ),
    Implementation(
        "split heads", "module", _module(lambda d, h, t, c: MultiHeadAttention(d, d, t, h, causal=c, fused=False))
    ),
    Implementation(
        "split heads + SDPA", "module", _module(lambda d, h, t, c: MultiHeadAttention(d, d, t, h, causal=c, fused=True))
    ),
    Implementation(
        "nn.MultiheadAttention",
        "module",
        _module(lambda d, h, t, c: MultiHeadAttention(d, d, t, h, causal=c, qkv_bias=True), torch_mha=True),
    ),
]
# --8<-- [end:implementations]


# --8<-- [start:measure]
class PeakMemory(TorchDispatchMode):
    """Peak bytes of the tensors that PyTorch operators allocate while the mode is on.

    Counts every new storage an operator returns and forgets it when the last
    tensor using it is freed. Inputs created before the mode are not counted;
    scratch memory a kernel allocates and frees internally is not seen.

    >>> x = torch.zeros(1000)
    >>> with PeakMemory() as mem:
    ...     y = x + 1          # 4000 bytes
    ...     z = (y * 2).sum()  # 4000 more, then a scalar
    >>> mem.peak
    8004
    """

    def __init__(self) -> None:
        super().__init__()
        self.current = self.peak = 0
        self._sizes: dict[tuple[str, int], int] = {}
        self._users: dict[tuple[str, int], int] = {}

    def _release(self, key: tuple[str, int]) -> None:
        self._users[key] -= 1
        if self._users[key] == 0:
            self.current -= self._sizes.pop(key)
            del self._users[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {
            t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)
        }
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                continue
            storage = t.untyped_storage()
            key = (str(t.device), storage.data_ptr())
            if key not in self._sizes:
                if storage.data_ptr() in inputs or storage.nbytes() == 0:
                    continue  # a view or an in-place result: nothing new was allocated
                self._sizes[key], self._users[key] = storage.nbytes(), 0
                self.current += storage.nbytes()
                self.peak = max(self.peak, self.current)
            self._users[key] += 1
            weakref.finalize(t, self._release, key)
        return out


def peak_extra_memory(run: Callable[[], object], device: torch.device) -> int:
    """Peak bytes allocated by ``run()`` beyond what was allocated before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    with PeakMemory() as mem:
        run()
    return mem.peak


def median_seconds(
    runs: dict[str, Callable[[], object]], repeats: int, warmup: int, device: torch.device
) -> dict[str, float]:
    """Median wall time of each run, the runs interleaved; CUDA events on a GPU."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                run()
                end.record()
                torch.cuda.synchronize(device)
                times[name].append(start.elapsed_time(end) / 1e3)
            else:
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def attention_flops(batch: int, heads: int, tokens: int, head_dim: int, causal: bool, mode: str) -> float:
    """FLOPs by the FlashAttention papers' convention: forward 4·B·H·T²·D, halved if causal, backward 2.5×.

    >>> attention_flops(1, 1, 1024, 64, causal=True, mode="forward+backward") / 1e9
    0.469762048
    """
    forward = 4 * batch * heads * tokens**2 * head_dim / (2 if causal else 1)
    return forward * (3.5 if mode == "forward+backward" else 1.0)


# --8<-- [end:measure]


@dataclass
class Config:
    """What one benchmark run measures."""

    device: str = "cpu"
    dtype: str = "float32"
    batch: int = 8
    heads: int = 12
    head_dim: int = 64
    tokens: tuple[int, ...] = (128, 256, 512, 1024, 2048)
    modes: tuple[str, ...] = MODES
    causal: tuple[bool, ...] = (False, True)
    repeats: int = 5
    warmup: int = 1
    threads: int = 2
    only: tuple[str, ...] = field(default_factory=tuple)

    def check(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.device not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device must be cpu, cuda or mps, got {self.device!r}")
        for name in ("batch", "heads", "head_dim", "repeats", "threads"):
            check_positive_int(name, getattr(self, name))
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup must be a non-negative integer, got {self.warmup!r}")
        for name in ("tokens", "modes", "causal"):
            if not getattr(self, name):
                raise ValueError(f"{name} must name at least one value, got none")
        for t in self.tokens:
            check_positive_int("tokens", t)
        unknown = set(self.modes) - set(MODES) or set(self.only) - {i.name for i in IMPLEMENTATIONS}
        if unknown:
            raise ValueError(
                f"unknown mode or implementation {sorted(unknown)}; modes are {MODES}, "
                f"implementations {[i.name for i in IMPLEMENTATIONS]}"
            )
        if not device_available(self.device):
            raise ValueError(f"device {self.device!r} is not available here: measure on the cpu, or where it is")
        for name in self.only:
            if not any(name in (i.name for i in self.chosen(t, c)) for t in self.tokens for c in self.causal):
                impl = next(i for i in IMPLEMENTATIONS if i.name == name)
                raise ValueError(f"--only {name!r} measures nothing here: it runs {_where_it_runs(impl)}")

    def chosen(self, tokens: int, causal: bool) -> list[Implementation]:
        """The implementations measured at ``tokens`` with or without the causal mask."""
        return [
            i
            for i in IMPLEMENTATIONS
            if self.device in i.devices
            and (i.max_tokens is None or tokens <= i.max_tokens)
            and (causal or not i.causal_only)
            and (not self.only or i.name in self.only)
        ]


def _where_it_runs(impl: Implementation) -> str:
    """Where an implementation is measured, in words: its devices, its largest size, causal or not."""
    limits = [f"on {' or '.join(impl.devices)}"]
    if impl.max_tokens is not None:
        limits.append(f"up to {impl.max_tokens} tokens")
    if impl.causal_only:
        limits.append("with the causal mask only")
    return ", ".join(limits)


def environment(config: Config) -> Environment:
    """The machine and the versions the numbers come from."""
    env: Environment = {
        "attn_examples": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "device": config.device,
    }
    if config.device == "cuda":
        env["gpu"] = torch.cuda.get_device_name()
        env["cuda"] = torch.version.cuda
    try:
        import triton

        env["triton"] = triton.__version__
    except ImportError:
        env["triton"] = None
    return env


def _sdpa_choice(q: torch.Tensor, causal: bool) -> str:
    try:
        return SDPA_BACKENDS.get(int(torch._fused_sdp_choice(q, q, q, is_causal=causal)), "unknown")
    except (AttributeError, RuntimeError):  # a private function: absent from some versions
        return "unknown"


def _inputs(config: Config, tokens: int, dtype: torch.dtype, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b, h, d = config.batch, config.heads, config.head_dim
    q, k, v, grad_out = (torch.randn(b, h, tokens, d, generator=g) for _ in range(4))
    x = torch.randn(b, tokens, h * d, generator=g)
    dx = torch.randn(b, tokens, h * d, generator=g)
    return [t.to(device=device, dtype=dtype) for t in (q, k, v, grad_out, x, dx)]


def _runner(call: Callable[..., torch.Tensor], args: list[torch.Tensor], grad: torch.Tensor, mode: str):
    """A no-argument function doing one forward (and backward) pass; returns output and input grads."""
    if mode == "forward":

        def forward() -> list[torch.Tensor]:
            with torch.no_grad():
                return [call(*args)]

        return forward
    leaves = [a.detach().requires_grad_() for a in args]

    def forward_backward() -> list[torch.Tensor]:
        out = call(*leaves)
        return [out.detach(), *torch.autograd.grad(out, leaves, grad)]

    return forward_backward


def _max_error(outputs: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    return max((r.detach().double().cpu() - e).abs().max().item() for r, e in zip(outputs, reference, strict=True))


def run(config: Config, log: Callable[[str], None] = print) -> list[BenchRecord]:
    """Measure every implementation for every (mode, causal, tokens) of ``config``; one record each."""
    config.check()
    torch.set_num_threads(config.threads)
    device, dtype = torch.device(config.device), DTYPES[config.dtype]
    d_model = config.heads * config.head_dim
    records: list[BenchRecord] = []
    for mode in config.modes:
        for causal in config.causal:
            for tokens in config.tokens:
                q, k, v, grad_out, x, dx = _inputs(config, tokens, dtype, device)
                chosen = config.chosen(tokens, causal)
                runs, references, modules = {}, {}, {}
                for impl in chosen:
                    if impl.kind == "kernel":
                        runs[impl.name] = _runner(impl.make(causal), [q, k, v], grad_out, mode)
                    else:
                        reference_module, call = impl.make(causal, d_model, config.heads, tokens, device, dtype)
                        modules[impl.name] = reference_module
                        runs[impl.name] = _runner(call, [x], dx, mode)
                # exact answers, in float64 on the CPU: one for the kernels, one per module
                exact = _runner(
                    lambda a, b, c, causal=causal: F.scaled_dot_product_attention(a, b, c, is_causal=causal),
                    [t.double().cpu() for t in (q, k, v)],
                    grad_out.double().cpu(),
                    mode,
                )()
                for name, module in modules.items():
                    exact64 = copy.deepcopy(module).to(device="cpu", dtype=torch.float64)
                    references[name] = _runner(exact64, [x.double().cpu()], dx.double().cpu(), mode)()
                errors = {name: _max_error(r(), references.get(name, exact)) for name, r in runs.items()}
                memory = {name: peak_extra_memory(r, device) for name, r in runs.items()}
                seconds = median_seconds(runs, config.repeats, config.warmup, device)
                flops = attention_flops(config.batch, config.heads, tokens, config.head_dim, causal, mode)
                for impl in chosen:
                    record = BenchRecord(
                        implementation=impl.name,
                        kind=impl.kind,
                        mode=mode,
                        causal=causal,
                        tokens=tokens,
                        batch=config.batch,
                        heads=config.heads,
                        head_dim=config.head_dim,
                        dtype=config.dtype,
                        device=config.device,
                        median_ms=seconds[impl.name] * 1e3,
                        peak_extra_mib=memory[impl.name] / 2**20,
                        max_abs_error=errors[impl.name],
                        # TFLOP/s of the attention itself; a module's time also holds its projections
                        tflops=flops / seconds[impl.name] / 1e12 if impl.kind == "kernel" else None,
                        sdpa_backend=_sdpa_choice(q, causal) if impl.name == "SDPA" else None,
                    )
                    records.append(record)
                    log(
                        f"{mode:16s} causal={causal!s:5s} T={tokens:5d} {impl.name:24s} "
                        f"{record.median_ms:10.2f} ms {record.peak_extra_mib:9.1f} MiB "
                        f"err {record.max_abs_error:.1e}"
                    )
    return records


class TableWords(TypedDict):
    """The words of the tables, in one language: the site gives each page its own (attn/tables)."""

    measured: str  # with {torch}, {where}, {device}, {threads} and {dtype}
    heading: str  # above each table, with {mode} and {causal}
    modes: dict[str, str]  # each of MODES
    causal: str
    not_causal: str
    causal_yes: str  # the cells of the targets' column "causal"
    causal_no: str
    implementation: str  # the implementations keep their names: those --only takes
    error: str
    mode: str
    fastest: str
    versus_sdpa: str
    memory_ratio: str
    triton_versus: str
    triton_share: str


ENGLISH: TableWords = {
    "measured": "Measured with torch {torch} on {where} ({device}, {threads} threads), {dtype}.",
    "heading": "**{mode}, {causal}**: median ms (× the baseline of its kind), peak extra MiB and max |error| at the "
    "largest T",
    "modes": {"forward": "forward", "forward+backward": "forward+backward"},
    "causal": "causal",
    "not_causal": "not causal",
    "causal_yes": "yes",
    "causal_no": "no",
    "implementation": "implementation",
    "error": "error",
    "mode": "mode",
    "fastest": "fastest plain PyTorch",
    "versus_sdpa": "× SDPA (target)",
    "memory_ratio": "flash.py MiB ÷ SDPA MiB (≤ 2)",
    "triton_versus": "Triton ÷ fastest SDPA throughput (≥ 0.8)",
    "triton_share": "Triton TFLOP/s (share of 989)",
}


# --8<-- [start:report]
def markdown_table(records: Iterable[BenchRecord], env: Environment, words: TableWords = ENGLISH) -> str:
    """One table per (mode, causal): median time per T, and its ratio to SDPA (or nn.MultiheadAttention)."""
    records = list(records)
    lines = [
        words["measured"].format(
            torch=env["torch"],
            where=env.get("gpu") or env["processor"],
            device=env["device"],
            threads=env["threads"],
            dtype=records[0].dtype if records else "",
        )
    ]
    groups = sorted({(r.mode, r.causal) for r in records}, key=lambda g: (MODES.index(g[0]), g[1]))
    for mode, causal in groups:
        rows = [r for r in records if r.mode == mode and r.causal == causal]
        tokens = sorted({r.tokens for r in rows})
        lines += [
            "",
            words["heading"].format(
                mode=words["modes"][mode], causal=words["causal"] if causal else words["not_causal"]
            ),
            "",
            f"| {words['implementation']} | " + " | ".join(f"T={t}" for t in tokens) + f" | MiB | {words['error']} |",
            "|---|" + "---:|" * (len(tokens) + 2),
        ]
        names = [i.name for i in IMPLEMENTATIONS if any(r.implementation == i.name for r in rows)]
        for name in names:
            cells, last = [], None
            for t in tokens:
                match = [r for r in rows if r.implementation == name and r.tokens == t]
                if not match:
                    cells.append("—")
                    continue
                r = last = match[0]
                base_name = "SDPA" if r.kind == "kernel" else "nn.MultiheadAttention"
                base = [b for b in rows if b.implementation == base_name and b.tokens == t]
                ratio = f" (×{r.median_ms / base[0].median_ms:.2f})" if base and name != base_name else ""
                cells.append(f"{r.median_ms:.1f}{ratio}")
            assert last is not None  # names holds only implementations with rows
            lines.append(
                f"| {name} | " + " | ".join(cells) + f" | {last.peak_extra_mib:.1f} | {last.max_abs_error:.1e} |"
            )
    return "\n".join(lines) + "\n"


PLAIN_PYTORCH = ("per-row loops", "batched matmul", "chunked (flash.py)", "flash.py")
H100_BF16_DENSE_TFLOPS = 989.0


def targets_table(records: Iterable[BenchRecord], min_tokens: int = 512, words: TableWords = ENGLISH) -> str:
    """The issue's targets, checked on ``records``: one row per (mode, causal, T ≥ ``min_tokens``).

    On the CPU: the fastest plain-PyTorch implementation against SDPA (target
    ≤ 1.3× not causal, ≤ 2.0× causal) and flash.py's peak memory against
    SDPA's (≤ 2×). Where Triton was measured (on CUDA), two more columns: Triton
    against the fastest SDPA backend (≥ 0.8× its throughput) and its share of the
    H100's dense bf16 peak.
    """
    records = list(records)
    with_triton = any(r.implementation == "Triton" for r in records)  # its columns only when it was measured
    header = (
        f"| {words['mode']} | {words['causal']} | T | {words['fastest']} | {words['versus_sdpa']} "
        f"| {words['memory_ratio']} |"
    )
    rule = "|---|---|---:|---|---:|---:|"
    if with_triton:
        header += f" {words['triton_versus']} | {words['triton_share']} |"
        rule += "---:|---:|"
    lines = [header, rule]
    keys = sorted(
        {(r.mode, r.causal, r.tokens) for r in records if r.tokens >= min_tokens},
        key=lambda key: (MODES.index(key[0]), key[1], key[2]),
    )
    for mode, causal, tokens in keys:
        rows = {r.implementation: r for r in records if (r.mode, r.causal, r.tokens) == (mode, causal, tokens)}
        if "SDPA" not in rows:
            continue
        sdpa = rows["SDPA"]
        plain = min((rows[n] for n in PLAIN_PYTORCH if n in rows), key=lambda r: r.median_ms, default=None)
        limit = 2.0 if causal else 1.3
        best = f"{plain.implementation} | {plain.median_ms / sdpa.median_ms:.2f} (≤ {limit})" if plain else "— | —"
        memory = (
            f"{rows['flash.py'].peak_extra_mib / sdpa.peak_extra_mib:.2f}"
            if "flash.py" in rows and sdpa.peak_extra_mib > 0
            else "—"
        )
        masked = words["causal_yes"] if causal else words["causal_no"]
        line = f"| {words['modes'][mode]} | {masked} | {tokens} | {best} | {memory} |"
        if with_triton:
            sdpa_times = [r.median_ms for n, r in rows.items() if n.startswith("SDPA")]
            triton = rows.get("Triton")
            versus = f"{min(sdpa_times) / triton.median_ms:.2f}" if triton else "—"
            share = (
                f"{triton.tflops:.0f} ({triton.tflops / H100_BF16_DENSE_TFLOPS:.0%})"
                if triton and triton.tflops
                else "—"
            )
            line += f" {versus} | {share} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def plot(records: Iterable[BenchRecord], path: Path) -> None:
    """Median time against T, log-log, one panel per (mode, causal); an SVG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = list(records)
    groups = sorted({(r.mode, r.causal) for r in records}, key=lambda g: (MODES.index(g[0]), g[1]))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 4.2), squeeze=False, sharey=True)
    for ax, (mode, causal) in zip(axes[0], groups, strict=True):
        for impl in IMPLEMENTATIONS:
            rows = sorted(
                (r for r in records if r.implementation == impl.name and r.mode == mode and r.causal == causal),
                key=lambda r: r.tokens,
            )
            if rows:
                ax.plot(
                    [r.tokens for r in rows],
                    [r.median_ms for r in rows],
                    marker="o",
                    markersize=3,
                    linestyle="-" if impl.kind == "kernel" else "--",
                    label=impl.name,
                )
        ax.set(xscale="log", yscale="log", xlabel="T (tokens)", title=f"{mode}, {'causal' if causal else 'full'}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("median time (ms)")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


# --8<-- [end:report]


def write_results(records: list[BenchRecord], env: Environment, out_dir: Path, with_plot: bool = True) -> list[Path]:
    """Write ``results.jsonl`` (environment first), ``results.md``, ``targets.md`` and ``time.svg``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = results.write_results(out_dir / "results.jsonl", env, records)
    table = out_dir / "results.md"
    table.write_text(markdown_table(records, env), encoding="utf-8")
    targets = out_dir / "targets.md"
    targets.write_text(targets_table(records), encoding="utf-8")
    paths = [jsonl, table, targets]
    if with_plot:
        plot(records, out_dir / "time.svg")
        paths.append(out_dir / "time.svg")
    return paths


def decode_rates(
    config: Config, new_tokens: Iterable[int], prompt: int = 16, kv_groups: int | None = None
) -> list[results.DecodeRecord]:
    """Tokens per second generating each of ``new_tokens`` after a ``prompt`` of random tokens, without and
    with the KV cache, on a ``TinyDecoder`` of the guide's modules (``config``: device, dtype, batch,
    threads, repeats, warmup); the median of the repeats, both ways interleaved. Both ways give the same
    tokens (``tests/test_kv_cache.py``): only the time differs. ``kv_groups``: its attention is
    ``GroupedQueryAttention`` with that many key-value heads for its 4 query heads."""
    from attn_examples.gqa import GroupedQueryAttention
    from attn_examples.kv_cache import TinyDecoder, generate
    from attn_examples.positions import PositionalMultiHeadAttention

    device, dtype = torch.device(config.device), DTYPES[config.dtype]
    torch.set_num_threads(config.threads)
    counts = list(new_tokens)
    attention = (
        PositionalMultiHeadAttention
        if kv_groups is None
        else functools.partial(GroupedQueryAttention, num_kv_groups=kv_groups)
    )
    torch.manual_seed(0)
    model = TinyDecoder(context_length=prompt + max(counts), attention=attention).to(device=device, dtype=dtype)
    model.eval()
    ids = torch.randint(0, 256, (config.batch, prompt), generator=torch.Generator().manual_seed(0)).to(device)
    rates = []
    for count in counts:
        seconds = median_seconds(
            {
                "without": functools.partial(generate, model, ids, count, use_cache=False),
                "with": functools.partial(generate, model, ids, count, use_cache=True),
            },
            config.repeats,
            config.warmup,
            device,
        )
        made = count * config.batch
        without, cached = made / seconds["without"], made / seconds["with"]
        rates.append(
            results.DecodeRecord(count, prompt, config.batch, config.dtype, config.device, without, cached, kv_groups)
        )
    return rates


# the implementations --window compares: causal attention in full, then within the window two ways
WINDOW_IMPLEMENTATIONS = ("causal SDPA", "SDPA, band mask", "local_attention")


def window_timings(config: Config, window: int) -> list[results.WindowRecord]:
    """Median time and peak extra memory of causal attention over each of ``config.tokens`` tokens: in full
    (``F.scaled_dot_product_attention(is_causal=True)``), and within a sliding ``window``, as SDPA with the
    band as a dense mask (every score still computed) and as ``sparse.local_attention`` (only the band's
    blocks). ``config``: device, dtype, batch, heads, head_dim, threads, repeats, warmup."""
    from attn_examples.sparse import dense_mask, local_attention, sliding_window

    device, dtype = torch.device(config.device), DTYPES[config.dtype]
    torch.set_num_threads(config.threads)
    records = []
    for tokens in config.tokens:
        q, k, v = _inputs(config, tokens, dtype, device)[:3]
        band = dense_mask(sliding_window(window), tokens, device)
        runs: dict[str, Callable[[], object]] = {
            "causal SDPA": functools.partial(F.scaled_dot_product_attention, q, k, v, is_causal=True),
            "SDPA, band mask": functools.partial(F.scaled_dot_product_attention, q, k, v, attn_mask=band),
            "local_attention": functools.partial(local_attention, q, k, v, window),
        }
        seconds = median_seconds(runs, config.repeats, config.warmup, device)
        for name, run in runs.items():
            with PeakMemory() as memory:
                run()
            record = results.WindowRecord(
                name,
                tokens,
                window,
                config.batch,
                config.heads,
                config.head_dim,
                config.dtype,
                config.device,
                seconds[name] * 1e3,
                memory.peak / 2**20,
            )
            records.append(record)
    return records


def ring_timings(
    config: Config, ranks: Iterable[int], layouts: Iterable[str] = ("zigzag",)
) -> list[results.RingRecord]:
    """``ring_attention`` and ``all_gather_attention`` over each of ``config.tokens`` tokens split across each
    number of ``ranks`` local processes (gloo on the CPU; NCCL with a GPU per rank), causal or not as
    ``config.causal`` says, for each layout: per-rank median time of the forward pass, peak extra memory,
    bytes sent against ``ring.ring_bytes``, largest error. ``config``: device (cpu: gloo; cuda: NCCL, a GPU
    per rank), dtype, batch, heads, head_dim, repeats, warmup (the machine's cores are shared by the ranks)."""
    from attn_examples import ring

    dtype, backend = DTYPES[config.dtype], "nccl" if config.device == "cuda" else "gloo"
    if config.device == "mps":
        raise ValueError("--ranks runs on gloo (--device cpu) or NCCL (--device cuda, a GPU per process), not on mps")
    records = []
    for world_size in ranks:
        for tokens in config.tokens:
            for causal in config.causal:
                for layout in layouts if causal else ("zigzag",):  # without a mask the layout changes nothing
                    args = (tokens, (config.batch, config.heads, config.head_dim), causal, layout, dtype)
                    per_rank = ring.spawn(
                        ring.time_ranks, world_size, *args, config.repeats, config.warmup, backend=backend
                    )
                    formula = max(
                        ring.ring_bytes(
                            tokens,
                            world_size,
                            (config.batch, config.heads, config.head_dim, config.head_dim),
                            dtype,
                            layout,
                        )
                    )
                    for name in ("ring_attention", "all_gather_attention"):
                        values = [r[name] for r in per_rank]
                        is_ring = name == "ring_attention"
                        records.append(
                            results.RingRecord(
                                name,
                                world_size,
                                tokens,
                                causal,
                                layout,
                                config.batch,
                                config.heads,
                                config.head_dim,
                                config.dtype,
                                "cuda"
                                if torch.cuda.is_available() and torch.cuda.device_count() >= world_size
                                else "cpu",
                                [v["ms"] for v in values],
                                max(v["peak_bytes"] for v in values) / 2**20,
                                max(v["sent_bytes"] for v in values) / 2**20 if is_ring else None,
                                formula / 2**20 if is_ring else None,
                                max(v["error"] for v in values),
                            )
                        )
    return records


class DecodeWords(TypedDict):
    """The words of the decode table, in one language: the site gives each page its own (attn/tables)."""

    measured: str  # with {torch}, {where}, {device}, {threads}, {dtype}, {batch} and {prompt}
    kv_heads: str  # the first column when the key-value heads vary (grouped-query attention)
    new_tokens: str
    without: str
    with_cache: str
    speedup: str


DECODE_ENGLISH: DecodeWords = {
    "measured": "Measured with torch {torch} on {where} ({device}, {threads} threads), {dtype}, batch {batch}: "
    "a TinyDecoder (4 layers, d_model 128, 4 heads, RoPE), greedy decoding after {prompt} prompt tokens.",
    "kv_heads": "key-value heads",
    "new_tokens": "new tokens",
    "without": "tokens/s without the cache",
    "with_cache": "tokens/s with the cache",
    "speedup": "× with the cache",
}


def decode_table(records: Iterable[results.DecodeRecord], env: Environment, words: DecodeWords = DECODE_ENGLISH) -> str:
    """The decode benchmark as Markdown: tokens per second without and with the cache, and their ratio.

    >>> record = results.DecodeRecord(32, 16, 1, "float32", "cpu", 350.0, 700.0)
    >>> env = {"torch": "2.13.0", "processor": "x86_64", "device": "cpu", "threads": 2}
    >>> print(decode_table([record], env).splitlines()[-1])
    | 32 | 350 | 700 | 2.0 |
    """
    rows = list(records)
    where = env.get("gpu") or env["processor"]
    first = rows[0] if rows else None
    measured = words["measured"].format(
        torch=env["torch"],
        where=where,
        device=env["device"],
        threads=env["threads"],
        dtype=first.dtype if first else "",
        batch=first.batch if first else "",
        prompt=first.prompt if first else "",
    )
    grouped = any(r.kv_groups is not None for r in rows)  # then a first column: the key-value heads
    titles = [words["new_tokens"], words["without"], words["with_cache"], words["speedup"]]
    titles = [words["kv_heads"], *titles] if grouped else titles
    lines = [measured, "", "| " + " | ".join(titles) + " |", "|" + "---:|" * len(titles)]
    for r in rows:
        cells = [f"{r.new_tokens}", f"{r.tokens_per_s_without:.0f}", f"{r.tokens_per_s_with:.0f}", f"{r.speedup:.1f}"]
        cells = [f"{r.kv_groups}", *cells] if grouped else cells
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class RingWords(TypedDict):
    """The words of the distributed benchmark's table, in one language (``tables: ring:`` in a page)."""

    measured: str  # with {torch}, {where}, {threads}, {dtype}, {batch}, {heads} and {head_dim}
    implementation: str
    ranks: str
    tokens: str
    mask: str
    full: str
    contiguous: str  # causal, the sequence cut into P contiguous shards
    zigzag: str  # causal, the zig-zag layout
    per_rank: str
    peak: str
    sent: str
    error: str


RING_ENGLISH: RingWords = {
    "measured": "Measured with torch {torch} on {where} ({threads} threads shared by the processes), {dtype}, "
    "batch {batch}, {heads} heads of {head_dim}: the forward pass, median of each process, gloo.",
    "implementation": "implementation",
    "ranks": "processes",
    "tokens": "tokens",
    "mask": "mask",
    "full": "none",
    "contiguous": "causal, contiguous",
    "zigzag": "causal, zig-zag",
    "per_rank": "ms, each process",
    "peak": "peak extra MiB",
    "sent": "MiB sent (formula)",
    "error": "max error",
}


def ring_table(records: Iterable[results.RingRecord], env: Environment, words: RingWords = RING_ENGLISH) -> str:
    """The distributed benchmark as Markdown: each process's time, memory, bytes sent and error.

    >>> record = results.RingRecord("ring_attention", 2, 1024, True, "zigzag", 1, 8, 64, "float32", "cpu",
    ...                             [10.0, 12.0], 4.0, 2.0, 2.0, 1e-7)
    >>> env = {"torch": "2.13.0", "processor": "x86_64", "device": "cpu", "threads": 2}
    >>> print(ring_table([record], env).splitlines()[-1])
    | `ring_attention` | 2 | 1024 | causal, zig-zag | 10.0 / 12.0 | 4.0 | 2.00 (2.00) | 1e-07 |
    """
    rows = list(records)
    first = rows[0] if rows else None
    measured = words["measured"].format(
        torch=env["torch"],
        where=env.get("gpu") or env["processor"],
        threads=env["threads"],
        dtype=first.dtype if first else "",
        batch=first.batch if first else "",
        heads=first.heads if first else "",
        head_dim=first.head_dim if first else "",
    )
    keys = ("implementation", "ranks", "tokens", "mask", "per_rank", "peak", "sent", "error")
    titles = [words[key] for key in keys]  # type: ignore[literal-required]
    lines = [measured, "", "| " + " | ".join(titles) + " |", "|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        mask = words[r.layout] if r.causal else words["full"]  # type: ignore[literal-required]
        sent = "—" if r.sent_mib is None else f"{r.sent_mib:.2f} ({r.formula_mib:.2f})"
        times = " / ".join(f"{ms:.1f}" for ms in r.rank_ms)
        cells = [f"`{r.implementation}`", f"{r.ranks}", f"{r.tokens}", mask, times, f"{r.peak_extra_mib:.1f}", sent]
        lines.append("| " + " | ".join([*cells, f"{r.max_abs_error:.0e}"]) + " |")
    return "\n".join(lines)


def config_from_args(args: argparse.Namespace) -> Config:
    """Build a ``Config`` from the CLI's parsed arguments."""
    return Config(
        device=args.device,
        dtype=args.dtype,
        batch=args.batch,
        heads=args.heads,
        head_dim=args.head_dim,
        tokens=tuple(args.tokens),
        modes=tuple(args.modes),
        causal={"both": (False, True), "yes": (True,), "no": (False,)}[args.causal],
        repeats=args.repeats,
        warmup=args.warmup,
        threads=args.threads,
        only=tuple(args.only or ()),
    )
