"""Execute each lab notebook's code once, and reuse its outputs in every language.

The five translations of a notebook share their code cells, so their outputs are the same.
mkdocs-jupyter would execute every language's copy (and its own cache ignores ``src/``, so it could
serve stale outputs). Instead, a notebook is executed when no outputs are cached for it, keyed by
its code cells and the modules of ``src/`` they import (directly or through each other, with their
packages' ``__init__.py``), and mkdocs-jupyter is handed an executed copy of each language's
notebook (same file name, so the download link keeps it). A change to the code or to a module it
imports re-executes; a failing cell fails the build. Notebooks to execute run side by side. Imports
are read from the code, not run: a module loaded by name at run time (``importlib``) is not
followed, and a cell Python cannot parse (a shell or magic line) makes the key cover all of ``src/``.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeGuard

import nbformat
from mkdocs.exceptions import PluginError
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from attn_site.plugins.cache import DiskCache

Outputs = list[dict[str, Any]]  # per code cell: its outputs and execution count


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _imported_names(tree: ast.AST, package: str) -> Iterator[str]:
    """The dotted names ``tree`` imports (for ``from a import b``: ``a`` and ``a.b``), relative ones made absolute."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _files_of(name: str, src: Path) -> Iterator[Path]:
    """The files under ``src`` that importing ``name`` runs: each package's ``__init__.py``, then the module."""
    folder = src
    for part in name.split("."):
        folder = folder / part
        found = next((p for p in (folder / "__init__.py", folder.with_name(part + ".py")) if p.is_file()), None)
        if found is None:
            return
        yield found


def imported_sources(code: Iterable[str], src: Path) -> list[Path]:
    """The modules under ``src`` that ``code`` imports, directly or through each other; all of them if
    some code does not parse.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     src = Path(folder)
    ...     (src / "pkg").mkdir()
    ...     for name, text in {"__init__": "", "a": "from pkg.b import f", "b": "f = 1", "c": "g = 2"}.items():
    ...         _ = (src / "pkg" / f"{name}.py").write_text(text)
    ...     [p.relative_to(src).as_posix() for p in imported_sources(["import torch", "from pkg import a"], src)]
    ['pkg/__init__.py', 'pkg/a.py', 'pkg/b.py']
    """
    try:
        todo = [(ast.parse(cell), "") for cell in code]
    except SyntaxError:
        return sorted(p for p in src.rglob("*.py") if "__pycache__" not in p.parts)
    found: set[Path] = set()
    while todo:
        tree, package = todo.pop()
        for name in _imported_names(tree, package):
            for path in _files_of(name, src):
                if path not in found:
                    found.add(path)
                    todo.append((ast.parse(path.read_bytes()), ".".join(path.relative_to(src).parent.parts)))
    return sorted(found)


def outputs_key(nb: nbformat.NotebookNode, src: Path) -> str:
    """The cache key of ``nb``'s outputs: its code cells and the modules of ``src`` they import, not its prose."""
    code = [cell.source for cell in code_cells(nb)]
    modules = [(path.relative_to(src).as_posix(), path.read_bytes()) for path in imported_sources(code, src)]
    return DiskCache.key("notebook-outputs", code, modules)


def execute(nb: nbformat.NotebookNode, source: Path, timeout: int) -> Outputs:
    """Run a copy of ``nb`` in a new kernel, in ``source``'s folder; the outputs of its code cells."""
    executed = copy.deepcopy(nb)
    client = NotebookClient(
        executed, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as error:
        raise PluginError(f"{source}: a cell failed\n{error}") from error
    return [{"outputs": cell.outputs, "execution_count": cell.execution_count} for cell in code_cells(executed)]


def cached_outputs(cache: DiskCache, key: str, nb: nbformat.NotebookNode, source: Path, timeout: int) -> Outputs:
    """The outputs of ``nb`` (cache key ``key``), from ``cache`` or from one execution stored there."""
    cached = cache.read_json(key)
    if _is_outputs(cached, len(code_cells(nb))):
        return cached
    outputs = execute(nb, source, timeout)
    cache.write_json(key, outputs)
    return outputs


def _is_outputs(data: object, cells: int) -> TypeGuard[Outputs]:
    """Whether ``data`` has the shape of :data:`Outputs` for ``cells`` code cells (else the entry is not used)."""
    return (
        isinstance(data, list)
        and len(data) == cells
        and all(
            isinstance(cell, dict)
            and isinstance(cell.get("outputs"), list)
            and all(isinstance(out, dict) and isinstance(out.get("output_type"), str) for out in cell["outputs"])
            and (cell.get("execution_count") is None or isinstance(cell.get("execution_count"), int))
            for cell in data
        )
    )


def with_outputs(nb: nbformat.NotebookNode, outputs: Outputs) -> nbformat.NotebookNode:
    """``nb`` (changed in place) with ``outputs`` in its code cells."""
    for cell, result in zip(code_cells(nb), outputs, strict=True):
        cell.outputs = nbformat.from_dict(result["outputs"])
        cell.execution_count = result["execution_count"]
    return nb


def outputs_of_all(
    notebooks: list[tuple[nbformat.NotebookNode, Path]], cache: DiskCache, src: Path, *, workers: int, timeout: int
) -> list[Outputs]:
    """The outputs of each (notebook, source), modules imported from ``src``: notebooks sharing their code run
    once, the others side by side."""
    by_code: dict[tuple[str, ...], str] = {}  # translations share their code: their imports are read once
    keys = []
    for nb, _ in notebooks:
        code = tuple(cell.source for cell in code_cells(nb))
        if code not in by_code:
            by_code[code] = outputs_key(nb, src)
        keys.append(by_code[code])
    unique: dict[str, tuple[nbformat.NotebookNode, Path]] = {}
    for key, notebook in zip(keys, notebooks, strict=True):
        unique.setdefault(key, notebook)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(unique) or 1))) as pool:  # each waits on its kernel
        futures = {
            key: pool.submit(cached_outputs, cache, key, nb, source, timeout) for key, (nb, source) in unique.items()
        }
        results = {key: future.result() for key, future in futures.items()}
    return [results[key] for key in keys]
