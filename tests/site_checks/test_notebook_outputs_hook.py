"""The notebook-output cache of attn/notebooks (attn_site.plugins.notebooks.execute): what invalidates it."""

from __future__ import annotations

from pathlib import Path

import nbformat

from attn_site.plugins.cache import DiskCache
from attn_site.plugins.notebooks import execute


def _notebook(code: str, prose: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(prose), nbformat.v4.new_code_cell(code)])


def test_key_follows_code_cells_and_src_but_not_prose(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    module = tmp_path / "src" / "m.py"
    module.write_text("x = 1\n")
    src = execute.src_digest(tmp_path)
    key = execute.outputs_key(_notebook("print(1)", "English"), src)
    assert execute.outputs_key(_notebook("print(1)", "Italiano"), src) == key  # translations share outputs
    assert execute.outputs_key(_notebook("print(2)", "English"), src) != key
    module.write_text("x = 2\n")
    changed = execute.src_digest(tmp_path)
    assert execute.outputs_key(_notebook("print(1)", "English"), changed) != key  # a change to src/ re-executes


def test_outputs_are_computed_once_then_read_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    cache = DiskCache(tmp_path / ".cache" / "notebook-outputs")
    src = execute.src_digest(tmp_path)
    source = tmp_path / "n.en.ipynb"
    english, italian = _notebook("print(6 * 7)", "prose"), _notebook("print(6 * 7)", "prosa")
    first, second = execute.outputs_of_all([(english, source), (italian, source)], cache, src, workers=2, timeout=60)
    assert first[0]["outputs"][0]["text"] == "42\n" and second == first
    assert len(list(cache.folder.glob("*.json"))) == 1  # one execution for both languages
    (again,) = execute.outputs_of_all([(italian, source)], cache, src, workers=1, timeout=1)
    assert again == first
    assert execute.with_outputs(italian, first).cells[1].outputs[0]["text"] == "42\n"
