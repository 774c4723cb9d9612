"""attn/notebooks: notebooks stay pages under mkdocs-static-i18n, and the HTML cache it configures.

mkdocs-static-i18n rebuilds every file as a plain MkDocs ``File`` (its issue 198), so a notebook
would be copied as raw JSON; attn/notebooks gives each back as a page (attn_site.plugins.notebooks.files).
The first tests build a two-language site and check what mkdocs-static-i18n gives a Markdown page:
the page in each language (the default language's notebook where a translation is missing), the
download link, the language switcher, the sitemap, and a failed build for a broken notebook. The
HTML of notebook pages is cached by mkdocs-jupyter itself, through its ``cache`` and ``cache_dir``
options; the last tests prove that a changed output (a new executed copy) or a new converter version
is never served from that cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import nbformat
import pytest
from bs4 import BeautifulSoup
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs_jupyter.plugin import Plugin as JupyterPlugin

from attn_site.plugins.cache import DiskCache
from attn_site.plugins.notebooks import html
from attn_site.plugins.notebooks.files import NotebookPage, as_page

SITEMAP = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
SITE_CONFIG = """
site_name: t
site_url: https://example.org/
theme:
  name: material
plugins:
  - search
  - i18n:
      docs_structure: suffix
      fallback_to_default: true
      reconfigure_material: true
      languages:
        - {locale: en, name: English, default: true, build: true}
        - {locale: it, name: Italiano, build: true}
  - mkdocs-jupyter:
      execute: false
      include_source: true
      ignore: ["*.md", "*.py"]
  - attn/notebooks:
      execute: false
nav:
  - Home: index.md
  - Lab: notebooks/lab.ipynb
  - Other: notebooks/other.ipynb
"""


def _notebook(path: Path, heading: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [nbformat.v4.new_markdown_cell(f"# {heading}"), nbformat.v4.new_code_cell("print(6 * 7)")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def _build(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def two_languages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site in English and Italian with a translated notebook and one only in English, built."""
    folder = tmp_path_factory.mktemp("two-languages")
    (folder / "mkdocs.yml").write_text(SITE_CONFIG, encoding="utf-8")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "index.en.md").write_text("# Home\n", encoding="utf-8")
    (docs / "index.it.md").write_text("# Inizio\n", encoding="utf-8")
    _notebook(docs / "notebooks" / "lab.en.ipynb", "Lab")
    _notebook(docs / "notebooks" / "lab.it.ipynb", "Laboratorio")
    _notebook(docs / "notebooks" / "other.en.ipynb", "Other")
    result = _build(folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "site"


def test_notebooks_are_pages_in_every_language(two_languages: Path) -> None:
    for page, heading in [
        ("notebooks/lab", "Lab"),
        ("it/notebooks/lab", "Laboratorio"),
        ("notebooks/other", "Other"),
        ("it/notebooks/other", "Other"),  # no translation: the English notebook in the Italian site
    ]:
        soup = BeautifulSoup((two_languages / page / "index.html").read_text(encoding="utf-8"), "html.parser")
        assert soup.find("h1") is not None and heading in soup.find("h1").get_text(), page
    assert (two_languages / "it" / "notebooks" / "lab" / "lab.it.ipynb").is_file()  # the download link's file
    assert not list(two_languages.rglob("notebooks/*.ipynb"))  # no notebook copied as raw JSON instead of a page
    italian = (two_languages / "it" / "index.html").read_text(encoding="utf-8")
    assert 'href="notebooks/lab/"' in italian and 'href="notebooks/other/"' in italian  # the nav


def test_notebook_pages_have_their_alternates_like_markdown_pages(two_languages: Path) -> None:
    html_page = (two_languages / "it" / "notebooks" / "lab" / "index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html_page, "html.parser")
    switcher = {a["hreflang"]: a["href"] for a in soup.select("a.md-select__link[hreflang]")}
    assert switcher == {"en": "../../../notebooks/lab/", "it": "./"}
    sitemap = ElementTree.parse(two_languages / "sitemap.xml").getroot()
    urls = {url.findtext("s:loc", namespaces=SITEMAP): url for url in sitemap.findall("s:url", SITEMAP)}
    assert {"https://example.org/notebooks/lab/", "https://example.org/it/notebooks/other/"} <= urls.keys()
    alternates = urls["https://example.org/it/notebooks/lab/"].findall("x:link", SITEMAP)
    assert {(a.get("hreflang"), a.get("href")) for a in alternates} == {
        ("it", "https://example.org/it/notebooks/lab/"),
        ("en", "https://example.org/notebooks/lab/"),
    }


def test_strict_build_fails_on_a_broken_notebook(two_languages: Path, tmp_path: Path) -> None:
    folder = two_languages.parent
    broken = folder / "docs" / "notebooks" / "lab.it.ipynb"
    text = broken.read_text(encoding="utf-8")
    try:
        broken.write_text(text[: len(text) // 2], encoding="utf-8")
        assert _build(folder).returncode != 0
    finally:
        broken.write_text(text, encoding="utf-8")


def test_a_notebook_page_keeps_what_mkdocs_static_i18n_gave_its_file(tmp_path: Path) -> None:
    file = File("notebooks/lab.it.ipynb", src_dir=str(tmp_path), dest_dir=str(tmp_path), use_directory_urls=True)
    assert not file.is_documentation_page()  # MkDocs's own rule: not Markdown, not a page
    file.dest_uri = "it/notebooks/lab/index.html"
    file.url = "it/notebooks/lab/"
    file.locale = "it"  # type: ignore[attr-defined]
    page = as_page(file)
    assert isinstance(page, NotebookPage) and page.is_documentation_page()
    assert (page.src_uri, page.dest_uri, page.url, page.locale) == (  # type: ignore[attr-defined]
        "notebooks/lab.it.ipynb",
        "it/notebooks/lab/index.html",
        "it/notebooks/lab/",
        "it",
    )


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
