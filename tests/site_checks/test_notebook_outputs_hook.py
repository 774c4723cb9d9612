"""The notebook-output cache of attn/notebooks (attn_site.plugins.notebooks.execute): what invalidates it."""

from __future__ import annotations

from pathlib import Path

import nbformat

from attn_site.plugins.cache import DiskCache
from attn_site.plugins.notebooks import execute


def _notebook(code: str, prose: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(prose), nbformat.v4.new_code_cell(code)])


def _package(src: Path, modules: dict[str, str]) -> None:
    (src / "pkg").mkdir(parents=True)
    for name, text in {"__init__": "", **modules}.items():
        (src / "pkg" / f"{name}.py").write_text(text)


def test_key_follows_code_cells_and_the_modules_they_import_but_not_prose(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _package(src, {"used": "from .helper import f\n", "helper": "def f(): return 1\n", "other": "x = 1\n"})
    code = "from pkg.used import f\nprint(f())"
    key = execute.outputs_key(_notebook(code, "English"), src)
    assert execute.outputs_key(_notebook(code, "Italiano"), src) == key  # translations share outputs
    assert execute.outputs_key(_notebook(code + "\nprint(2)", "English"), src) != key

    (src / "pkg" / "other.py").write_text("x = 2\n")  # not imported: the outputs stay
    assert execute.outputs_key(_notebook(code, "English"), src) == key
    (src / "pkg" / "helper.py").write_text("def f(): return 2\n")  # imported through pkg.used: re-executes
    changed = execute.outputs_key(_notebook(code, "English"), src)
    assert changed != key
    (src / "pkg" / "__init__.py").write_text("VERSION = 2\n")  # runs on any import of the package
    assert execute.outputs_key(_notebook(code, "English"), src) != changed


def test_every_form_of_import_is_followed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _package(src, {"a": "import pkg.b\n", "b": "from . import c\n", "c": "from .d import *\n", "d": "", "e": ""})
    found = [path.name for path in execute.imported_sources(["import numpy, pkg.a"], src)]
    assert found == ["__init__.py", "a.py", "b.py", "c.py", "d.py"]


def test_code_that_does_not_parse_keys_on_every_module(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _package(src, {"a": "", "b": ""})
    found = execute.imported_sources(["%timeit 1 + 1"], src)
    assert [path.name for path in found] == ["__init__.py", "a.py", "b.py"]


def test_outputs_are_computed_once_then_read_from_the_cache(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    cache = DiskCache(tmp_path / ".cache" / "notebook-outputs")
    source = tmp_path / "n.en.ipynb"
    english, italian = _notebook("print(6 * 7)", "prose"), _notebook("print(6 * 7)", "prosa")
    first, second = execute.outputs_of_all([(english, source), (italian, source)], cache, src, workers=2, timeout=60)
    assert first[0]["outputs"][0]["text"] == "42\n" and second == first
    assert len(list(cache.folder.glob("*.json"))) == 1  # one execution for both languages
    (again,) = execute.outputs_of_all([(italian, source)], cache, src, workers=1, timeout=1)
    assert again == first
    assert execute.with_outputs(italian, first).cells[1].outputs[0]["text"] == "42\n"
