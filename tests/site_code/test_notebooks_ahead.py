"""Notebooks converted ahead (attn_site.plugins.notebooks.ahead) are what mkdocs-jupyter itself writes.

The module reads three functions of mkdocs-jupyter that are not documented: their signatures are
pinned here, and an entry made ahead is compared with the one mkdocs-jupyter writes into its cache
when it renders the same notebook page.
"""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

from mkdocs.config import load_config
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs_jupyter import plugin as jupyter

from attn_site.plugins.notebooks import ahead
from tests.site_checks.layout import DOCS, ROOT


def test_the_functions_read_from_mkdocs_jupyter_keep_their_signatures() -> None:
    signatures = {
        name: list(inspect.signature(getattr(jupyter, name)).parameters)
        for name in ("_compute_cache_key", "_get_cache_path", "_get_nb_toc_tokens")
    }
    assert signatures == {
        "_compute_cache_key": ["nb_path", "config", "exec_nb"],
        "_get_cache_path": ["cache_dir", "cache_key"],
        "_get_nb_toc_tokens": ["fpath", "toc_depth"],
    }
    nb2html = inspect.signature(jupyter.convert.nb2html).parameters
    assert set(ahead.NB2HTML_OPTIONS) | {"execute"} <= set(nb2html)


def test_an_entry_made_ahead_is_the_one_mkdocs_jupyter_writes(tmp_path: Path) -> None:
    config = load_config(str(ROOT / "mkdocs.yml"))
    plugin = config.plugins["mkdocs-jupyter"]
    notebook = tmp_path / "docs" / "notebooks" / "simple-attention.it.ipynb"
    notebook.parent.mkdir(parents=True)
    shutil.copy(DOCS / "notebooks" / "simple-attention.it.ipynb", notebook)

    job = ahead.conversion(notebook, tmp_path / "ahead", plugin.config)
    assert ahead.convert(job) == job.entry and job.entry.is_file()
    assert not list(job.entry.parent.glob(".*"))  # no temporary file left

    plugin.config["cache"], plugin.config["cache_dir"] = True, str(tmp_path / "mkdocs-jupyter")
    plugin.on_pre_build(config)
    file = File("notebooks/simple-attention.it.ipynb", str(tmp_path / "docs"), str(tmp_path / "site"), True)
    page = Page(None, file, config)
    plugin.on_pre_page(page, config, Files([file]))
    page.render(config, Files([file]))
    (written,) = (tmp_path / "mkdocs-jupyter").glob("*.json")
    assert written.name == job.entry.name
    assert json.loads(job.entry.read_text(encoding="utf-8")) == json.loads(written.read_text(encoding="utf-8"))


def test_an_existing_entry_is_not_converted_again(tmp_path: Path) -> None:
    config = load_config(str(ROOT / "mkdocs.yml"))
    notebook = DOCS / "notebooks" / "simple-attention.en.ipynb"
    job = ahead.conversion(notebook, tmp_path, config.plugins["mkdocs-jupyter"].config)
    job.entry.write_text("{}", encoding="utf-8")
    assert ahead.convert(job) == job.entry
    assert job.entry.read_text(encoding="utf-8") == "{}"
