"""attn/notebooks (attn_site.plugins.notebooks.styles): the shared JupyterLab stylesheet, its unused rules dropped."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from attn_site.plugins.notebooks.plugin import NotebooksPlugin
from attn_site.plugins.notebooks.styles import purge_unused_rules


def test_unused_rules_are_dropped_and_the_rest_kept_as_written() -> None:
    css = (
        ":root{--x:1}.jp-A{color:red}.jp-B .jp-A,.jp-A>p{margin:0}"
        "@media (max-width:10px){.jp-A{x:y}.jp-C{x:z}}@font-face{font-family:f}"
    )
    assert purge_unused_rules(css, {"jp-A"}) == (
        ":root{--x:1}.jp-A{color:red}.jp-A>p{margin:0}@media (max-width:10px){.jp-A{x:y}}@font-face{font-family:f}"
    )
    # commas inside :is() do not split the selector list; :not(.unused) still matches, so it stays
    assert purge_unused_rules(".jp-A :is(.jp-B,.jp-C){x:y}.jp-C,.jp-A:not(.jp-D){x:z}", {"jp-A"}) == (
        ".jp-A :is(.jp-B,.jp-C){x:y}.jp-A:not(.jp-D){x:z}"
    )


def test_notebook_pages_link_one_stylesheet_purged_after_the_build(tmp_path: Path) -> None:
    css = ".jp-Used{color:red}" + ".jp-Unused{color:blue}" * 200
    html = f'<html><head><style type="text/css">\n{css}</style></head><body class="jp-Used"></body></html>'
    config: Any = SimpleNamespace(
        site_dir=str(tmp_path / "site"),
        theme={"language": "en"},
        plugins={},  # one language
        config_file_path=str(tmp_path / "mkdocs.yml"),
    )
    plugin = NotebooksPlugin()
    assert plugin.load_config({}) == ([], [])
    plugin.on_startup(command="build", dirty=False)
    plugin.on_pre_build(config=config)
    pages: list[Any] = [
        SimpleNamespace(file=SimpleNamespace(src_uri=f"notebooks/lab.{lang}.ipynb"), url=f"{lang}/notebooks/lab/")
        for lang in ("it", "zh")
    ]
    outputs: list[Any] = [plugin.on_post_page(html, page=page, config=config) for page in pages]
    assert outputs[0] == outputs[1] and "<style" not in outputs[0]
    assert 'href="../../../assets/stylesheets/jupyter-' in outputs[0]
    markdown_page: Any = SimpleNamespace(file=SimpleNamespace(src_uri="index.en.md"), url="")
    assert plugin.on_post_page(html, page=markdown_page, config=config) == html  # only notebook pages change
    plugin.on_post_build(config=config)
    (sheet,) = (tmp_path / "site" / "assets" / "stylesheets").glob("jupyter-*.css")
    assert sheet.read_text() == ".jp-Used{color:red}"
    assert len(list((tmp_path / ".cache" / "notebook-css").glob("*.css"))) == 1  # the purged sheet, for next time
    # a second build (mkdocs serve) writes the full stylesheet again before purging with its own pages
    plugin.on_pre_build(config=config)
    plugin.on_post_page(html.replace('class="jp-Used"', 'class="jp-Used jp-Unused"'), page=pages[0], config=config)
    plugin.on_post_build(config=config)
    assert sheet.read_text() == css
