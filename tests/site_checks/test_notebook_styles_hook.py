"""hooks/notebook_styles.py: the shared JupyterLab stylesheet and the removal of unused rules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

from tests.site_checks.layout import ROOT

_spec = importlib.util.spec_from_file_location("notebook_styles", ROOT / "hooks" / "notebook_styles.py")
hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hook)


def test_unused_rules_are_dropped_and_the_rest_kept_as_written() -> None:
    css = (
        ":root{--x:1}.jp-A{color:red}.jp-B .jp-A,.jp-A>p{margin:0}"
        "@media (max-width:10px){.jp-A{x:y}.jp-C{x:z}}@font-face{font-family:f}"
    )
    assert hook.purge_unused_rules(css, {"jp-A"}) == (
        ":root{--x:1}.jp-A{color:red}.jp-A>p{margin:0}@media (max-width:10px){.jp-A{x:y}}@font-face{font-family:f}"
    )
    # commas inside :is() do not split the selector list; :not(.unused) still matches, so it stays
    assert hook.purge_unused_rules(".jp-A :is(.jp-B,.jp-C){x:y}.jp-C,.jp-A:not(.jp-D){x:z}", {"jp-A"}) == (
        ".jp-A :is(.jp-B,.jp-C){x:y}.jp-A:not(.jp-D){x:z}"
    )


def test_notebook_pages_link_one_stylesheet_purged_after_the_build(tmp_path: Path) -> None:
    css = ".jp-Used{color:red}" + ".jp-Unused{color:blue}" * 200
    html = f'<html><head><style type="text/css">\n{css}</style></head><body class="jp-Used"></body></html>'
    config = SimpleNamespace(
        site_dir=str(tmp_path),
        theme={"language": "en"},
        plugins={},  # one language
        config_file_path=str(tmp_path / "mkdocs.yml"),
    )
    hook.on_pre_build(config)
    pages = [
        SimpleNamespace(file=SimpleNamespace(src_uri=f"notebooks/lab.{lang}.ipynb"), url=f"{lang}/notebooks/lab/")
        for lang in ("it", "zh")
    ]
    outputs = [hook.on_post_page(html, page, config) for page in pages]
    assert outputs[0] == outputs[1] and "<style" not in outputs[0]
    assert 'href="../../../assets/stylesheets/jupyter-' in outputs[0]
    markdown_page = SimpleNamespace(file=SimpleNamespace(src_uri="index.en.md"), url="")
    assert hook.on_post_page(html, markdown_page, config) == html  # only notebook pages are changed
    hook.on_post_build(config)
    (sheet,) = (tmp_path / "assets" / "stylesheets").glob("jupyter-*.css")
    assert sheet.read_text() == ".jp-Used{color:red}"
    # a second build (mkdocs serve) writes the full stylesheet again before purging with its own pages
    hook.on_pre_build(config)
    hook.on_post_page(html.replace('class="jp-Used"', 'class="jp-Used jp-Unused"'), pages[0], config)
    hook.on_post_build(config)
    assert sheet.read_text() == css
