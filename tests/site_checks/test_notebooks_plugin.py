"""attn/notebooks: the one patch it keeps (``.ipynb`` as a page) and the HTML cache it configures.

The patch (attn_site.plugins.notebooks.patches) appends to ``mkdocs.utils.markdown_extensions``;
the first tests fail when MkDocs changes that tuple or stops reading it. The HTML of notebook pages
is cached by mkdocs-jupyter itself, through its ``cache`` and ``cache_dir`` options; the last tests
prove that a changed output (a new executed copy) or a new converter version is never served from
that cache.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace

import mkdocs.utils
import nbformat
import pytest
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs_jupyter.plugin import Plugin as JupyterPlugin

from attn_site.plugins.cache import DiskCache
from attn_site.plugins.notebooks import html
from attn_site.plugins.notebooks.patches import register_notebook_pages


def test_markdown_extensions_is_still_a_tuple_of_strings_read_by_file() -> None:
    assert isinstance(mkdocs.utils.markdown_extensions, tuple)
    assert all(isinstance(ext, str) for ext in mkdocs.utils.markdown_extensions)
    assert str(inspect.signature(mkdocs.utils.is_markdown_file)) == "(path: 'str') -> 'bool'"
    assert "markdown_extensions" in inspect.getsource(mkdocs.utils.is_markdown_file)
    assert "is_markdown_file" in inspect.getsource(File.is_documentation_page)


def test_registered_notebooks_are_pages_whoever_builds_their_file(tmp_path: Path) -> None:
    register_notebook_pages()
    register_notebook_pages()
    assert mkdocs.utils.markdown_extensions.count(".ipynb") == 1
    file = File("notebooks/lab.it.ipynb", src_dir=str(tmp_path), dest_dir=str(tmp_path), use_directory_urls=True)
    assert file.is_documentation_page() and file.url == "notebooks/lab.it/"


def test_mkdocs_jupyter_still_has_the_cache_options_the_plugin_sets() -> None:
    options = dict(JupyterPlugin.config_scheme)
    assert {"cache", "cache_dir"} <= options.keys()
    config = SimpleNamespace(plugins={"mkdocs-jupyter": SimpleNamespace(config={"cache": False, "cache_dir": "x"})})
    html.use_jupyter_cache(config, Path("/tmp/c/en"))  # type: ignore[arg-type]
    assert config.plugins["mkdocs-jupyter"].config == {"cache": True, "cache_dir": "/tmp/c/en"}


def test_each_language_and_converter_version_has_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = DiskCache(tmp_path / "notebook-html")
    en, it = html.html_cache_dir(cache, "en"), html.html_cache_dir(cache, "it")
    assert en.parent == it.parent and en != it  # one language's build evicts none of the other's entries
    monkeypatch.setattr(html, "converter_versions", lambda: {"nbconvert": "99"})
    newer = html.html_cache_dir(cache, "en")
    assert newer.parent != en.parent  # a new converter never reads the old one's HTML
    assert html.evict_old_versions(cache, keep=newer.parent, max_age_s=-1) == 1
    assert [p.name for p in cache.folder.iterdir()] == [newer.parent.name]


def _render(notebook: Path, tmp_path: Path, cache_dir: Path) -> str:
    """The HTML mkdocs-jupyter renders for ``notebook`` with its cache in ``cache_dir``."""
    config = MkDocsConfig()
    config.load_dict({"site_name": "t", "docs_dir": str(tmp_path / "docs"), "site_dir": str(tmp_path / "site")})
    assert config.validate() == ([], [])
    plugin = JupyterPlugin()
    plugin.load_config({"execute": False, "ignore": ["*.md", "*.py"]})
    html.use_jupyter_cache(SimpleNamespace(plugins={"mkdocs-jupyter": plugin}), cache_dir)  # type: ignore[arg-type]
    file = File(notebook.name, src_dir=str(tmp_path / "docs"), dest_dir=str(tmp_path / "site"), use_directory_urls=True)
    file.abs_src_path = str(notebook)
    plugin.on_pre_build(config)
    page = Page(None, file, config)
    plugin.on_pre_page(page, config, Files([file]))
    page.render(config, Files([file]))
    plugin.on_post_build(config)
    assert page.content is not None
    return page.content


def test_the_html_cache_cannot_serve_a_stale_output(tmp_path: Path) -> None:
    cache_dir = tmp_path / "notebook-html" / "en"
    notebook = tmp_path / "docs" / "lab.en.ipynb"
    notebook.parent.mkdir()

    def executed(text: str) -> None:  # an executed copy, as attn/notebooks writes it
        cell = nbformat.v4.new_code_cell("print(6 * 7)", execution_count=1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab"), cell]), notebook)

    executed("forty-two\n")
    assert "forty-two" in _render(notebook, tmp_path, cache_dir)
    (entry,) = cache_dir.glob("*.json")
    entry.write_text(entry.read_text().replace("forty-two", "from-the-cache"))
    assert "from-the-cache" in _render(notebook, tmp_path, cache_dir)  # the same notebook: served from the cache
    executed("changed-output\n")  # src/ changed: the notebook was executed again, its outputs differ
    page = _render(notebook, tmp_path, cache_dir)
    assert "changed-output" in page and "forty-two" not in page
    assert len(list(cache_dir.glob("*.json"))) == 1  # the stale entry is evicted by its language's build
