"""The render cache's wrappers: the wrapped methods still look as they did, and wrapping is undone."""

from __future__ import annotations

import inspect
from pathlib import Path

import markdown
import pymdownx.highlight as highlight
import pytest
from material.plugins.search import plugin as search
from mkdocs.structure import pages

from attn_site.plugins.cache import SqliteCache
from attn_site.plugins.render_cache.patches import WRAPPED, RenderCache

# the parameters each wrapper relies on (the highlight wrapper reads `inline`, the sixth after `language`)
_HIGHLIGHT = "self src language css_class hl_lines linestart linestep linespecial inline classes id_value attrs title"
EXPECTED = {
    "render": ["self", "config", "files"],
    "highlight": [*_HIGHLIGHT.split(), "code_block_count"],
    "add_entry_from_context": ["self", "page"],
}


@pytest.fixture
def cache(tmp_path: Path):
    active = RenderCache(store=SqliteCache(tmp_path / "render.sqlite"), root=tmp_path)
    yield active
    active.uninstall()
    active.store.close()


@pytest.mark.parametrize(("owner", "name"), WRAPPED)
def test_the_wrapped_methods_keep_the_signature_the_wrappers_expect(owner: type, name: str) -> None:
    method = getattr(owner, name)
    method = getattr(method, "__wrapped__", method)
    assert list(inspect.signature(method).parameters) == EXPECTED[name], f"{owner.__name__}.{name} changed upstream"


def test_installing_wraps_each_method_once_and_uninstalling_restores_it(cache: RenderCache) -> None:
    before = {name: getattr(owner, name) for owner, name in WRAPPED}
    cache.install()
    cache.install()  # a second build of `mkdocs serve` wraps the originals, not the wrappers
    for owner, name in WRAPPED:
        assert getattr(owner, name) is not before[name]
        assert getattr(owner, name).__wrapped__ is before[name]
    cache.uninstall()
    assert {name: getattr(owner, name) for owner, name in WRAPPED} == before
    assert pages.Page.render is before["render"]
    assert highlight.Highlight.highlight is before["highlight"]
    assert search.SearchIndex.add_entry_from_context is before["add_entry_from_context"]


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


def test_highlighting_is_stored_and_inline_code_is_not(cache: RenderCache) -> None:
    cache.install()
    highlighter = highlight.Highlight(markdown.Markdown())
    first = highlighter.highlight("x = 1\n", "python")
    assert cache.store.db.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 1
    assert highlighter.highlight("x = 1\n", "python") == first
    highlighter.highlight("x", "python", inline=True)
    assert cache.store.db.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 1
