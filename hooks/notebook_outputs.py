"""Execute each lab notebook's code once, and reuse its outputs in every language.

The five translations of a notebook share their code cells, so their outputs are
the same. mkdocs-jupyter would execute every language's copy (and its own cache
ignores ``src/``, so it could serve stale outputs). Instead, this hook executes
a notebook when no outputs are cached for it, keyed by its code cells and the
content of ``src/``, stores them under ``.cache/notebook-outputs/``, and hands
mkdocs-jupyter an executed copy of each language's notebook (same file name, so
the download link keeps it). A change to the code or to ``src/`` re-executes;
a failing cell fails the build.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CACHE = ".cache"


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _cache_key(nb: nbformat.NotebookNode, root: Path) -> str:
    digest = hashlib.sha256()
    for cell in _code_cells(nb):
        digest.update(cell.source.encode() + b"\0")
    for path in sorted((root / "src").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def _outputs(nb: nbformat.NotebookNode, source: Path, root: Path) -> list[dict]:
    """The outputs of ``nb``'s code cells, from the cache or from one execution."""
    cached = root / CACHE / "notebook-outputs" / f"{_cache_key(nb, root)}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    executed = nbformat.from_dict(json.loads(json.dumps(nb)))
    client = NotebookClient(executed, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(source.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        raise PluginError(f"{source}: a cell failed\n{error}") from error
    outputs = [{"outputs": cell.outputs, "execution_count": cell.execution_count} for cell in _code_cells(executed)]
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(outputs), encoding="utf-8")
    return outputs


@event_priority(-200)  # after mkdocs-static-i18n (-100), which must still see the sources in docs/
def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    for file in files:
        if not file.src_uri.endswith(".ipynb") or file.abs_src_path is None:
            continue
        source = Path(file.abs_src_path)
        if root / CACHE in source.parents:
            continue  # already executed (mkdocs serve keeps File objects between rebuilds)
        nb = nbformat.read(source, as_version=4)
        for cell, result in zip(_code_cells(nb), _outputs(nb, source, root)):
            cell.outputs = nbformat.from_dict(result["outputs"])
            cell.execution_count = result["execution_count"]
        target = root / CACHE / "executed-notebooks" / file.src_uri
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        file.abs_src_path = str(target)
    return files
