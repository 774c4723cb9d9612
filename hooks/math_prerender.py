"""Typeset the formulas of Markdown pages when the site is built, not in the reader's browser.

pymdownx.arithmatex leaves each formula as TeX in ``<span class="arithmatex">\\(…\\)</span>`` (or a
``div`` with ``\\[…\\]``). Typeset in the browser, a page first shows that TeX, then replaces it
with shorter typeset math: the text below jumps (a layout shift Lighthouse penalises), and a page
with a hundred formulas waits for KaTeX's script. This hook runs KaTeX (from node_modules, the
same pinned version) once per build in a Node process, and writes its HTML and MathML into the page;
the stylesheet and fonts still come from the site. It works on the finished page, after the
search index and the glossary links have read the page's text (with the short TeX, not KaTeX's
markup). A formula KaTeX rejects fails the build, naming the page. Each formula is typeset once
for all five languages, and the results are kept in ``.cache/katex.json`` for the next build.
Notebook pages keep their client-side rendering (docs/assets/javascripts/math.js).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

from attn_site.i18n import build_order

CACHE = Path(".cache") / "katex.json"  # under the folder of mkdocs.yml
_FORMULA = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.S)
_DELIMITERS = {"span": ("\\(", "\\)"), "div": ("\\[", "\\]")}
_typeset: dict[str, str] = {}
_used: set[str] = set()  # the formulas of this build: only they are kept in the cache file
_node: subprocess.Popen[str] | None = None
_root = Path.cwd()


def _katex_version(root: Path) -> str:
    return json.loads((root / "node_modules" / "katex" / "package.json").read_text(encoding="utf-8"))["version"]


def _key(tex: str, display: bool) -> str:
    return hashlib.sha256(f"{display}\0{tex}".encode()).hexdigest()


def typeset(tex: str, display: bool) -> str:
    """KaTeX's HTML for ``tex``; raises ``ValueError`` with KaTeX's message for invalid TeX."""
    global _node
    key = _key(tex, display)
    _used.add(key)
    if key not in _typeset:
        if _node is None or _node.poll() is not None:
            _node = subprocess.Popen(
                ["node", str(Path(__file__).with_name("katex_render.js"))],
                cwd=_root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
            )
        assert _node.stdin is not None and _node.stdout is not None  # opened with pipes above
        _node.stdin.write(json.dumps({"tex": tex, "display": display}) + "\n")
        _node.stdin.flush()
        answer = json.loads(_node.stdout.readline() or '{"error": "the KaTeX process stopped"}')
        if "error" in answer:
            raise ValueError(answer["error"])
        _typeset[key] = answer["html"]
    return _typeset[key]


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _root
    _root = Path(config.config_file_path).parent
    if not _typeset and (_root / CACHE).exists():
        cached = json.loads((_root / CACHE).read_text(encoding="utf-8"))
        if cached.get("katex") == _katex_version(_root):
            _typeset.update(cached["formulas"])
    return config


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        return output

    def replace(match: re.Match[str]) -> str:
        opening, closing = _DELIMITERS[match.group("tag")]
        tex = html.unescape(match.group("tex")).strip()
        if not (tex.startswith(opening) and tex.endswith(closing)):
            return match.group(0)
        try:
            typeset_html = typeset(tex[len(opening) : -len(closing)], display=match.group("tag") == "div")
        except ValueError as error:
            raise PluginError(f"KaTeX cannot typeset a formula of {page.file.src_uri}: {error}") from None
        return f'<{match.group("tag")} class="arithmatex">{typeset_html}</{match.group("tag")}>'

    return _FORMULA.sub(replace, output)


def on_post_build(config: MkDocsConfig) -> None:
    global _node
    if config.theme["language"] != build_order(config)[-1]:
        return  # after the last language: every formula of the site is known
    path = _root / CACHE
    path.parent.mkdir(parents=True, exist_ok=True)
    formulas = {key: value for key, value in _typeset.items() if key in _used}
    path.write_text(json.dumps({"katex": _katex_version(_root), "formulas": formulas}), encoding="utf-8")
    _used.clear()
    if _node is not None:
        assert _node.stdin is not None  # opened with a pipe in typeset()
        _node.stdin.close()
        _node.wait()
        _node = None
