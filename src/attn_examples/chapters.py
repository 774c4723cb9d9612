"""What a chapter module declares for the guide's tools, and how the tools find the chapter modules.

A chapter module names the page it belongs to, ``CHAPTER = "causal-attention"`` at the start of a
line, and may declare beside its code:

- ``AGREEMENT``, a tuple of :class:`Example`: the worked examples that ``python -m attn_examples
  agreement`` runs on the CPU and on a GPU, in float32 and in float64;
- ``FIGURES``, a dict from a figure's name to a function that returns its :class:`Heatmap` or
  :class:`Lines`: the site draws it as ``figures/<chapter>/<name>.<theme>.svg``, with the words of
  the chapter's page.

No list of chapters exists anywhere else: :func:`chapter_modules` finds every module of this package
that assigns ``CHAPTER``, so a new chapter is its module alone. The helpers below build the examples'
inputs the guide's way: on the CPU from a fixed seed, then moved.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from attn_examples._checks import check_float_tensor

# what one run of an example returns: {"output": {name: tensor}, "gradients": {name: tensor}}
Outputs = dict[str, dict[str, torch.Tensor]]
_DECLARES_CHAPTER = re.compile(r"^CHAPTER\s*(?::[^=\n]*)?=", re.M)


@dataclass(frozen=True)
class Example:
    """One worked example of the guide, as the agreement command runs it.

    ``chapter`` is the page it comes from. ``run(device, dtype)`` builds
    everything on the CPU from a fixed seed, moves it to ``device`` and
    ``dtype``, and returns the named tensors of its ``"output"`` and, if it
    has a backward pass, its ``"gradients"``. ``reference`` replaces ``run``
    for the CPU side when the example itself only runs on a GPU.
    ``requires`` says why it cannot run on a device, or returns None.
    ``by_design`` marks the rows expected to differ across devices.

    >>> example = Example("index", "ones", lambda device, dtype: {"output": {"x": torch.ones(2, dtype=dtype)}})
    >>> example.run(torch.device("cpu"), torch.float64)["output"]["x"]
    tensor([1., 1.], dtype=torch.float64)
    """

    chapter: str
    name: str
    run: Callable[[torch.device, torch.dtype], Outputs]
    note: str = ""
    by_design: bool = False
    float64: bool = True
    reference: Callable[[torch.device, torch.dtype], Outputs] | None = None
    requires: Callable[[torch.device], str | None] | None = None


@dataclass(frozen=True)
class Heatmap:
    """The data of one figure: a matrix of weights and the labels of its rows and columns.

    ``weights`` is ``(queries, keys)``, or ``(heads, queries, keys)`` for one
    panel per head. ``queries`` labels the rows, ``keys`` the columns (the
    queries' labels by default). ``hidden`` is True where a mask hides a
    weight; ``signed`` centres the colours on zero (for gradients);
    ``tiles`` outlines blocks of that many rows and columns; ``annotate``
    writes the values in the cells (by default when they fit); ``per_row``
    puts that many heads' panels in a row (all in one by default).

    >>> Heatmap(torch.eye(2), ("a", "b")).keys
    ('a', 'b')
    >>> Heatmap(torch.eye(2), ("a",))
    Traceback (most recent call last):
    ...
    ValueError: queries must label the 2 rows of weights, got 1 labels
    >>> Heatmap(torch.ones(4, 2, 2), ("a", "b"), per_row=0)
    Traceback (most recent call last):
    ...
    ValueError: per_row must be a positive int (panels in a row), got 0
    """

    weights: torch.Tensor
    queries: Sequence[str]
    keys: Sequence[str] = ()
    hidden: torch.Tensor | None = None
    signed: bool = False
    tiles: tuple[int, int] | None = None
    annotate: bool | None = None
    per_row: int | None = None

    def __post_init__(self) -> None:
        weights = check_float_tensor(
            "weights", self.weights, shapes={2: "(queries, keys)", 3: "(heads, queries, keys)"}
        )
        object.__setattr__(self, "queries", tuple(self.queries))
        object.__setattr__(self, "keys", tuple(self.keys) or self.queries)
        rows, columns = weights.shape[-2:]
        if len(self.queries) != rows:
            raise ValueError(f"queries must label the {rows} rows of weights, got {len(self.queries)} labels")
        if len(self.keys) != columns:
            raise ValueError(f"keys must label the {columns} columns of weights, got {len(self.keys)} labels")
        if self.hidden is not None and self.hidden.shape != (rows, columns):
            raise ValueError(f"hidden must have shape ({rows}, {columns}), got {tuple(self.hidden.shape)}")
        if self.per_row is not None and (
            isinstance(self.per_row, bool) or not isinstance(self.per_row, int) or self.per_row < 1
        ):
            raise ValueError(f"per_row must be a positive int (panels in a row), got {self.per_row!r}")


@dataclass(frozen=True)
class Lines:
    """The data of a line chart: values ``x`` and, for each named line, its value at each ``x``.

    The names are drawn as they are (model or implementation names, the same in every language);
    ``log`` draws both axes on a log scale; ``xticks`` places the marks of the x axis (by default
    where the chart puts them).

    >>> Lines((1, 2), {"a": (1.0, 4.0)}).series["a"]
    (1.0, 4.0)
    >>> Lines((1, 2), {"a": (1.0,)})
    Traceback (most recent call last):
    ...
    ValueError: series 'a' must have one value for each of the 2 values of x, got 1
    """

    x: Sequence[float]
    series: Mapping[str, Sequence[float]]
    log: bool = False
    xticks: Sequence[float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", tuple(self.x))
        object.__setattr__(self, "series", {name: tuple(values) for name, values in self.series.items()})
        if not self.x or not self.series:
            raise ValueError("Lines needs at least one value of x and one series")
        for name, values in self.series.items():
            if len(values) != len(self.x):
                raise ValueError(
                    f"series {name!r} must have one value for each of the {len(self.x)} values of x, got {len(values)}"
                )


def positions(tokens: int) -> tuple[str, ...]:
    """Labels ``"1"`` to ``tokens``, for tokens known by their position alone.

    >>> positions(3)
    ('1', '2', '3')
    """
    return tuple(str(t) for t in range(1, tokens + 1))


def moved(t: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``t``, made on the CPU, on ``device`` in ``dtype``.

    >>> moved(torch.ones(2), torch.device("cpu"), torch.float64).dtype
    torch.float64
    """
    return t.to(device=device, dtype=dtype)


def module_outputs(module: nn.Module, inputs: Sequence[torch.Tensor], grad_out: torch.Tensor) -> Outputs:
    """The module's output and the gradients of ``Σ out·grad_out`` for its inputs and parameters.

    >>> out = module_outputs(nn.Linear(2, 1, bias=False), [torch.ones(1, 2)], torch.ones(1, 1))
    >>> sorted(out["gradients"])
    ['input 0', 'weight']
    """
    leaves = [x.detach().requires_grad_() for x in inputs]
    out = module(*leaves)
    names = [f"input {i}" for i in range(len(leaves))] + [name for name, _ in module.named_parameters()]
    grads = torch.autograd.grad(out, [*leaves, *module.parameters()], grad_out)
    return {"output": {"output": out.detach()}, "gradients": dict(zip(names, grads, strict=True))}


def kernel_outputs(
    fn: Callable[..., torch.Tensor], q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, grad_out: torch.Tensor
) -> Outputs:
    """An attention function's output and the gradients of ``Σ out·grad_out`` for ``q``, ``k`` and ``v``.

    >>> q = torch.ones(1, 2, 3)
    >>> sorted(kernel_outputs(torch.nn.functional.scaled_dot_product_attention, q, q, q, q)["gradients"])
    ['dk', 'dq', 'dv']
    """
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    out = fn(*leaves)
    grads = torch.autograd.grad(out, leaves, grad_out)
    return {"output": {"output": out.detach()}, "gradients": dict(zip(("dq", "dk", "dv"), grads, strict=True))}


@cache
def chapter_modules() -> tuple[ModuleType, ...]:
    """Every module of this package that declares ``CHAPTER``, imported, in the order of their names.

    Modules are read before they are imported, so that a module of an
    optional extra (``triton_flash``) is imported only if it declares a
    chapter.

    >>> [module.CHAPTER for module in chapter_modules() if module.__name__ == "attn_examples.causal"]
    ['causal-attention']
    """
    package = Path(__file__).parent
    names = sorted(
        path.stem
        for path in package.glob("*.py")
        if not path.name.startswith("_") and _DECLARES_CHAPTER.search(path.read_text(encoding="utf-8"))
    )
    return tuple(importlib.import_module(f"{__package__}.{name}") for name in names)
