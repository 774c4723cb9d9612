"""Execute each lab notebook's code once, and reuse its outputs in every language.

The five translations of a notebook share their code cells, so their outputs are
the same. mkdocs-jupyter would execute every language's copy (and its own cache
ignores ``src/``, so it could serve stale outputs). Instead, this hook executes
a notebook when no outputs are cached for it, keyed by its code cells and the
content of ``src/``, stores them under ``.cache/notebook-outputs/``, and hands
mkdocs-jupyter an executed copy of each language's notebook (same file name, so
the download link keeps it). A change to the code or to ``src/`` re-executes;
a failing cell fails the build. Notebooks to execute run side by side, one kernel
per CPU core.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from attn_site.i18n import build_order, split_source

CACHE = ".cache"


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _src_digest(root: Path) -> bytes:
    digest = hashlib.sha256()
    for path in sorted((root / "src").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.digest()


def _cache_key(nb: nbformat.NotebookNode, root: Path, src: bytes | None = None) -> str:
    """Hash of ``nb``'s code cells and of ``src/`` (``src``: its digest, when already computed)."""
    digest = hashlib.sha256()
    for cell in _code_cells(nb):
        digest.update(cell.source.encode() + b"\0")
    digest.update(_src_digest(root) if src is None else src)
    return digest.hexdigest()[:32]


def _outputs(key: str, nb: nbformat.NotebookNode, source: Path, root: Path) -> list[dict]:
    """The outputs of ``nb``'s code cells (cache key ``key``), from the cache or from one execution."""
    cached = root / CACHE / "notebook-outputs" / f"{key}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    executed = nbformat.from_dict(json.loads(json.dumps(nb)))
    client = NotebookClient(
        executed, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as error:
        raise PluginError(f"{source}: a cell failed\n{error}") from error
    outputs = [{"outputs": cell.outputs, "execution_count": cell.execution_count} for cell in _code_cells(executed)]
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(outputs), encoding="utf-8")
    return outputs


def _write_executed(nb: nbformat.NotebookNode, outputs: list[dict], root: Path, src_uri: str) -> Path:
    for cell, result in zip(_code_cells(nb), outputs, strict=True):
        cell.outputs = nbformat.from_dict(result["outputs"])
        cell.execution_count = result["execution_count"]
    target = root / CACHE / "executed-notebooks" / src_uri
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


@event_priority(-200)  # after mkdocs-static-i18n (-100), which must still see the sources in docs/
def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    pages: list[tuple[File, nbformat.NotebookNode, Path]] = []  # (file, notebook, source) of this build's language
    for file in files:
        if not file.src_uri.endswith(".ipynb") or file.abs_src_path is None:
            continue
        source = Path(file.abs_src_path)
        if root / CACHE in source.parents:
            continue  # already executed (mkdocs serve keeps File objects between rebuilds)
        pages.append((file, nbformat.read(source, as_version=4), source))
    # The first language's build also writes the other languages' executed copies, so that
    # notebook_html_cache.py can convert all of them at once, in parallel.
    others: list[tuple[str, nbformat.NotebookNode, Path]] = []  # (src_uri, notebook, source)
    languages = build_order(config)
    if pages and config.theme["language"] == languages[0]:
        docs = Path(config.docs_dir)
        for path in sorted(docs.rglob("*.ipynb")):
            split = split_source(path.relative_to(docs).as_posix())
            if split and split[1] in languages[1:]:
                others.append((path.relative_to(docs).as_posix(), nbformat.read(path, as_version=4), path))
    # the notebooks not cached yet run side by side, one kernel each (they wait on their kernels);
    # translations share their code cells, hence their cache key: each key runs once
    src = _src_digest(root)
    notebooks = [(nb, source) for _, nb, source in [*pages, *others]]
    keys = [_cache_key(nb, root, src) for nb, _ in notebooks]
    unique: dict[str, tuple[nbformat.NotebookNode, Path]] = {}
    for key, (nb, source) in zip(keys, notebooks, strict=True):
        unique.setdefault(key, (nb, source))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        outputs = {
            key: result
            for key, result in zip(unique, pool.map(lambda key: _outputs(key, *unique[key], root), unique), strict=True)
        }
    for key, (file, nb, _) in zip(keys[: len(pages)], pages, strict=True):
        file.abs_src_path = str(_write_executed(nb, outputs[key], root, file.src_uri))
    for key, (src_uri, nb, _) in zip(keys[len(pages) :], others, strict=True):
        _write_executed(nb, outputs[key], root, src_uri)
    return files
