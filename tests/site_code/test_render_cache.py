"""attn/render-cache: the one method it wraps still looks as it did, wrapping is undone, and Material's
search plugin skips a page whose entries are stored and gets them back unchanged."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from material.plugins.search.plugin import SearchPlugin
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure import pages
from mkdocs.structure.files import File, Files
from mkdocs.structure.toc import get_toc

from attn_site.plugins.cache import SqliteCache
from attn_site.plugins.render_cache.patches import WRAPPED, RenderCache
from attn_site.plugins.render_cache.search import SearchEntries

# what the wrapper of Page.render reads and restores on a page
RENDERED = ("content", "toc", "_title_from_render", "present_anchor_ids", "links_to_anchors")


@pytest.fixture
def cache(tmp_path: Path):
    active = RenderCache(store=SqliteCache(tmp_path / "render.sqlite"), root=tmp_path)
    yield active
    active.uninstall()
    active.store.close()


def _config(tmp_path: Path) -> MkDocsConfig:
    config = MkDocsConfig()
    config.load_dict({"site_name": "t", "docs_dir": str(tmp_path / "docs"), "site_dir": str(tmp_path / "site")})
    (tmp_path / "docs").mkdir(exist_ok=True)
    assert config.validate() == ([], [])
    return config


def _page(tmp_path: Path, config: MkDocsConfig, markdown: str) -> tuple[pages.Page, Files]:
    (tmp_path / "docs" / "p.md").write_text(markdown, encoding="utf-8")
    file = File("p.md", src_dir=str(tmp_path / "docs"), dest_dir=str(tmp_path / "site"), use_directory_urls=True)
    page = pages.Page(None, file, config)
    page.read_source(config)
    return page, Files([file])


def test_the_wrapped_method_keeps_the_signature_and_attributes_the_wrapper_expects(tmp_path: Path) -> None:
    owner, name = WRAPPED
    method = getattr(owner, name)
    method = getattr(method, "__wrapped__", method)
    assert list(inspect.signature(method).parameters) == ["self", "config", "files"], "Page.render changed upstream"
    config = _config(tmp_path)
    page, files = _page(tmp_path, config, "# Title\n\n[self](#title)\n")
    method(page, config, files)
    for attribute in RENDERED:
        assert hasattr(page, attribute), f"Page.render no longer sets {attribute}"


def test_installing_wraps_render_once_and_uninstalling_restores_it(cache: RenderCache) -> None:
    before = pages.Page.render
    cache.install()
    cache.install()  # a second build of `mkdocs serve` wraps the original, not the wrapper
    assert pages.Page.render is not before
    assert pages.Page.render.__wrapped__ is before  # type: ignore[attr-defined]
    cache.uninstall()
    assert pages.Page.render is before


def test_a_stored_render_is_restored_and_a_render_with_a_warning_is_not_stored(
    cache: RenderCache, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    cache.install()
    page, files = _page(tmp_path, config, "# Title\n\nText.\n")
    page.render(config, files)
    key, value = cache.store.db.execute("SELECT key, value FROM cache").fetchone()
    cache.store.put(key, value.replace("Text.", "From the store."))
    again, files = _page(tmp_path, config, "# Title\n\nText.\n")
    again.render(config, files)
    assert "From the store." in (again.content or "") and again.title == "Title"
    broken, files = _page(tmp_path, config, "# Title\n\n[broken](absent.md)\n")
    broken.render(config, files)
    assert cache.store.db.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 1  # the warning kept it out


def test_a_page_key_follows_the_files_it_includes(cache: RenderCache, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    module = tmp_path / "src" / "m.py"
    module.write_text("# --8<-- [start:part]\nx = 1\n# --8<-- [end:part]\n", encoding="utf-8")
    markdown = '```python\n--8<-- "src/m.py:part"\n```\n'
    before = cache.included(markdown)
    assert [target for target, _ in before] == ["src/m.py:part"]
    module.write_text(module.read_text(encoding="utf-8").replace("x = 1", "x = 2"), encoding="utf-8")
    assert cache.included(markdown) != before
    assert cache.included('--8<-- "src/absent.py"\n') == [("src/absent.py", "missing")]


def _index(page: pages.Page, entries: SearchEntries, config: MkDocsConfig) -> list[dict[str, Any]]:
    """The entries a new build's Material search plugin holds after indexing ``page`` alone."""
    plugin = SearchPlugin()
    assert plugin.load_config({"lang": ["en"], "separator": r"[\s\-]+", "pipeline": []}) == ([], [])
    plugin.on_config(config)
    site: Any = SimpleNamespace(plugins={"material/search": plugin})
    entries.before(page, site)
    plugin.on_page_context({}, page=page, config=site, nav=None)
    entries.after(page, site)
    return list(plugin.search_index.entries)


def test_search_entries_are_stored_and_given_back_without_indexing_the_page_again(
    cache: RenderCache, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    page, _ = _page(tmp_path, config, "")
    page.content = '<h1 id="title">Title</h1><p>Hello world.</p><h2 id="more">More</h2><p>Text.</p>'
    page.toc = get_toc([{"level": 1, "id": "title", "name": "Title", "children": []}])
    page.meta = {"search": {"boost": 2}}
    entries = SearchEntries(cache)
    first = _index(page, entries, config)
    assert [e["location"] for e in first] == ["p/", "p/#more"] and first[0]["boost"] == 2
    ((key, value),) = cache.store.db.execute("SELECT key, value FROM cache").fetchall()
    assert json.loads(value) == first
    cache.store.put(key, value.replace("Hello world.", "From the store."))
    second = _index(page, entries, config)  # Material skipped the page: the stored entries, once
    assert [e["text"] for e in second] == ["<p>From the store.</p>", "<p>Text.</p>"]
    assert page.meta == {"search": {"boost": 2}}  # the page's own option is given back
    page.meta = {}
    assert _index(page, entries, config) != second and page.meta == {}  # other metadata: another key
    page.meta = {"search": {"exclude": True}}
    assert _index(page, entries, config) == []  # a page the writer excluded stays excluded
