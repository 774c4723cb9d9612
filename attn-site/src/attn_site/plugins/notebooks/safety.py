"""What a notebook may publish: its outputs made safe before mkdocs-jupyter renders them.

mkdocs-jupyter publishes a notebook's outputs, and the HTML in its Markdown cells, as they are: one
``display(HTML(...))`` would put a script on the site. So every notebook handed to it goes through
:func:`safe_notebook` first, whether its outputs were just executed or read from the cache (a cache
entry is only data, and data is checked where it is used):

- an output keeps only the types a page can show without running code: text, PNG and JPEG images,
  LaTeX, and HTML cleaned by nh3 (the Ammonia sanitiser: no script, no event handler, no
  ``javascript:`` link, no style); JavaScript, SVG (which can carry scripts), widgets and any other
  type are dropped, and an output left with nothing is dropped;
- a Markdown cell with raw HTML fails the build: the guide's notebooks write Markdown only.
"""

from __future__ import annotations

import re
from typing import Any

import nbformat
import nh3

# what a page may show of an output; text/html only once cleaned
SHOWN_AS_IS = frozenset({"text/plain", "image/png", "image/jpeg", "text/latex"})
CLEANED = "text/html"
# HTML a notebook output may keep: tables (pandas), text structure, images as data URLs
_TAGS = {"table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col", "div", "span", "p"}
_TAGS |= {"pre", "code", "b", "strong", "i", "em", "br", "hr", "ul", "ol", "li", "sub", "sup", "img"}
_ATTRIBUTES = {"*": {"class", "title"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}}
_ATTRIBUTES["th"] = {"colspan", "rowspan"}
# raw HTML in Markdown: a tag, a comment or a declaration, outside code and math
_CODE_OR_MATH = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$", re.S)
_RAW_HTML = re.compile(r"<\s*(?:[A-Za-z][\w-]*[\s/>]|/[A-Za-z]|!)")


def clean_html(html: str) -> str:
    """``html`` with only the tags and attributes a notebook output may show.

    >>> clean_html('<table class="df"><tr><td onclick="steal()">1</td></tr></table><script>alert(1)</script>')
    '<table class="df"><tbody><tr><td>1</td></tr></tbody></table>'
    """
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"data"}, link_rel=None)


def safe_output(output: dict[str, Any]) -> dict[str, Any] | None:
    """``output`` with only what a page may show, or None if nothing is left.

    >>> safe_output({"output_type": "display_data", "metadata": {},
    ...              "data": {"application/javascript": "alert(1)", "text/plain": "<IPython.core.display.Javascript>"}})
    {'output_type': 'display_data', 'metadata': {}, 'data': {'text/plain': '<IPython.core.display.Javascript>'}}
    >>> safe_output({"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": "<svg/>"}}) is None
    True
    """
    data = output.get("data")
    if data is None:  # stream text and errors are shown as text
        return output
    kept = {mime: value for mime, value in data.items() if mime in SHOWN_AS_IS}
    if CLEANED in data:
        html = data[CLEANED]
        kept[CLEANED] = clean_html(html if isinstance(html, str) else "".join(html))
    if not kept:
        return None
    return {**output, "data": kept}


def raw_html_in_markdown(source: str) -> str | None:
    """The first raw HTML in a Markdown cell's ``source`` (outside code and math), or None.

    >>> raw_html_in_markdown("Scores $a < b$ and `x<y>` are fine.") is None
    True
    >>> raw_html_in_markdown("A picture: <img src=x onerror=alert(1)>")
    '<img '
    """
    match = _RAW_HTML.search(_CODE_OR_MATH.sub("", source))
    return match.group(0) if match else None


def safe_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """``nb`` (changed in place) with safe outputs; a ``ValueError`` naming ``name`` and the cell for raw HTML."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and (found := raw_html_in_markdown(cell.source)) is not None:
            raise ValueError(f"{name}, cell {index}: raw HTML ({found!r}) in a Markdown cell; write Markdown instead")
        if cell.cell_type == "code":
            outputs = (safe_output(dict(output)) for output in cell.outputs)
            cell.outputs = [nbformat.from_dict(output) for output in outputs if output is not None]
    return nb
