"""What a notebook may publish (attn_site.plugins.notebooks.safety): no script reaches a page.

A build with a crafted notebook is checked in tests/site_code/test_warm_rebuilds.py; here, each rule.
"""

from __future__ import annotations

import nbformat
import pytest

from attn_site.plugins.notebooks import execute
from attn_site.plugins.notebooks.safety import clean_html, safe_notebook, safe_output


def _display(data: dict[str, str]) -> dict[str, object]:
    return {"output_type": "display_data", "metadata": {}, "data": data}


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">link</a>',
        "<svg><script>alert(1)</script></svg>",
        '<iframe src="https://example.org"></iframe>',
        '<div style="background:url(javascript:alert(1))">x</div>',
        "<style>body{display:none}</style>",
        '<form action="https://example.org"><input name="q"></form>',
    ],
)
def test_html_outputs_lose_every_way_to_run_code_or_load_elsewhere(html: str) -> None:
    cleaned = clean_html(html).lower()
    for danger in ("<script", "onerror", "javascript:", "<iframe", "style", "<form", "<input", "example.org"):
        assert danger not in cleaned, cleaned


def test_a_dataframe_table_keeps_its_structure() -> None:
    table = '<table class="dataframe"><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
    assert clean_html(table) == table


def test_only_types_a_page_can_show_without_running_code_are_kept() -> None:
    output = _display(
        {
            "text/plain": "x",
            "image/png": "iVBORw0KGgo=",
            "application/javascript": "alert(1)",
            "image/svg+xml": "<svg onload='alert(1)'/>",
            "application/vnd.jupyter.widget-view+json": "{}",
            "text/html": "<b onclick='alert(1)'>x</b>",
        }
    )
    kept = safe_output(output)
    assert kept is not None and sorted(kept["data"]) == ["image/png", "text/html", "text/plain"]
    assert kept["data"]["text/html"] == "<b>x</b>"
    assert safe_output(_display({"application/javascript": "alert(1)"})) is None
    stream = {"output_type": "stream", "name": "stdout", "text": "<script>shown as text</script>"}
    assert safe_output(stream) == stream  # stream text is escaped by the converter, never run


def test_raw_html_in_a_markdown_cell_fails_and_markdown_with_angles_does_not() -> None:
    fine = nbformat.v4.new_markdown_cell("If $a < b$ then `x<y>`; see ```\n<div>\n``` too.")
    assert safe_notebook(nbformat.v4.new_notebook(cells=[fine]), "fine.ipynb")
    crafted = nbformat.v4.new_notebook(cells=[fine, nbformat.v4.new_markdown_cell("Hi <img src=x onerror=alert(1)>")])
    with pytest.raises(ValueError, match=r"lab\.en\.ipynb, cell 1: raw HTML \('<img '\) in a Markdown cell"):
        safe_notebook(crafted, "lab.en.ipynb")


def test_code_cells_lose_unsafe_outputs_in_place() -> None:
    cell = nbformat.v4.new_code_cell("display(Javascript('alert(1)'))")
    cell.outputs = [nbformat.from_dict(_display({"application/javascript": "alert(1)"}))]
    nb = safe_notebook(nbformat.v4.new_notebook(cells=[cell]), "lab.en.ipynb")
    assert nb.cells[0].outputs == []


@pytest.mark.parametrize(
    "entry",
    [
        "not a list",
        [{"outputs": [], "execution_count": 1}, {"outputs": [], "execution_count": 2}],  # two cells for one
        [{"outputs": "<script>", "execution_count": 1}],
        [{"outputs": [["not", "an", "output"]], "execution_count": 1}],
        [{"outputs": [], "execution_count": "1"}],
    ],
)
def test_a_cache_entry_of_the_wrong_shape_is_not_used(tmp_path, entry) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    cache = execute.DiskCache(tmp_path / "notebook-outputs")
    key = execute.outputs_key(nb, tmp_path)
    cache.write_json(key, entry)
    (outputs,) = execute.outputs_of_all([(nb, tmp_path / "n.ipynb")], cache, tmp_path, workers=1, timeout=60)
    assert outputs[0]["outputs"][0]["text"] == "42\n"  # executed again, not read
