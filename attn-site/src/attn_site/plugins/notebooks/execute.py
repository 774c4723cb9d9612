"""Execute each lab notebook's code once, and reuse its outputs in every language.

The five translations of a notebook share their code cells, so their outputs are the same.
mkdocs-jupyter would execute every language's copy (and its own cache ignores ``src/``, so it could
serve stale outputs). Instead, a notebook is executed when no outputs are cached for it, keyed by
its code cells and the content of ``src/``, and mkdocs-jupyter is handed an executed copy of each
language's notebook (same file name, so the download link keeps it). A change to the code or to
``src/`` re-executes; a failing cell fails the build. Notebooks to execute run side by side.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
from mkdocs.exceptions import PluginError
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from attn_site.plugins.cache import DiskCache, files_key

Outputs = list[dict[str, Any]]  # per code cell: its outputs and execution count


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def src_digest(root: Path) -> str:
    """A digest of every module under ``root/src`` (its path and bytes)."""
    return files_key(root, ["src"], "*.py")


def outputs_key(nb: nbformat.NotebookNode, src: str) -> str:
    """The cache key of ``nb``'s outputs: its code cells and ``src`` (:func:`src_digest`), not its prose."""
    return DiskCache.key("notebook-outputs", [cell.source for cell in code_cells(nb)], src)


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
    if isinstance(cached, list):
        return cached
    outputs = execute(nb, source, timeout)
    cache.write_json(key, outputs)
    return outputs


def with_outputs(nb: nbformat.NotebookNode, outputs: Outputs) -> nbformat.NotebookNode:
    """``nb`` (changed in place) with ``outputs`` in its code cells."""
    for cell, result in zip(code_cells(nb), outputs, strict=True):
        cell.outputs = nbformat.from_dict(result["outputs"])
        cell.execution_count = result["execution_count"]
    return nb


def outputs_of_all(
    notebooks: list[tuple[nbformat.NotebookNode, Path]], cache: DiskCache, src: str, *, workers: int, timeout: int
) -> list[Outputs]:
    """The outputs of each (notebook, source): notebooks sharing their code run once, the others side by side."""
    keys = [outputs_key(nb, src) for nb, _ in notebooks]
    unique: dict[str, tuple[nbformat.NotebookNode, Path]] = {}
    for key, notebook in zip(keys, notebooks, strict=True):
        unique.setdefault(key, notebook)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(unique) or 1))) as pool:  # each waits on its kernel
        futures = {
            key: pool.submit(cached_outputs, cache, key, nb, source, timeout) for key, (nb, source) in unique.items()
        }
        results = {key: future.result() for key, future in futures.items()}
    return [results[key] for key in keys]
