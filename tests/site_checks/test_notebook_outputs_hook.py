"""The notebook-output cache of hooks/notebook_outputs.py: what invalidates it and what does not."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

from tests.site_checks.layout import ROOT

_spec = importlib.util.spec_from_file_location("notebook_outputs", ROOT / "hooks" / "notebook_outputs.py")
hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hook)


def _notebook(code: str, prose: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(prose), nbformat.v4.new_code_cell(code)])


def test_key_follows_code_cells_and_src_but_not_prose(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    module = tmp_path / "src" / "m.py"
    module.write_text("x = 1\n")
    key = hook._cache_key(_notebook("print(1)", "English"), tmp_path)
    assert hook._cache_key(_notebook("print(1)", "Italiano"), tmp_path) == key  # translations share outputs
    assert hook._cache_key(_notebook("print(2)", "English"), tmp_path) != key
    module.write_text("x = 2\n")
    assert hook._cache_key(_notebook("print(1)", "English"), tmp_path) != key  # a change to src/ re-executes


def test_outputs_are_computed_once_then_read_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    nb = _notebook("print(6 * 7)", "prose")
    source = tmp_path / "n.en.ipynb"
    first = hook._outputs(hook._cache_key(nb, tmp_path), nb, source, tmp_path)
    assert first[0]["outputs"][0]["text"] == "42\n"
    cached = list((tmp_path / hook.CACHE / "notebook-outputs").glob("*.json"))
    assert len(cached) == 1
    translated = _notebook("print(6 * 7)", "prosa")
    assert hook._outputs(hook._cache_key(translated, tmp_path), translated, source, tmp_path) == first
