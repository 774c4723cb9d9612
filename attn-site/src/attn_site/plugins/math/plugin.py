"""Typeset the formulas of Markdown pages when the site is built, not in the reader's browser.

pymdownx.arithmatex leaves each formula as TeX in ``<span class="arithmatex">\\(…\\)</span>`` (or a
``div`` with ``\\[…\\]``). Typeset in the browser, a page first shows that TeX, then replaces it
with shorter typeset math: the text below jumps (a layout shift Lighthouse penalises), and a page
with a hundred formulas waits for KaTeX's script. This plugin runs KaTeX (``katex_dir``, the pinned
``node_modules/katex``) in one Node process (``katex_render.js`` beside this file), started at the
first formula a build has not typeset yet, and writes KaTeX's HTML and MathML into the page; the
stylesheet and fonts still come from the site. It works on the finished page, after the search
index and the glossary links have read the page's text (with the short TeX, not KaTeX's markup).
A formula KaTeX rejects fails the build, naming the page. Notebook pages keep their client-side
rendering (docs/assets/javascripts/math.js).

Each formula is typeset once for all five languages (kept on the plugin for the whole build), and
each page's formulas are kept in ``<cache_dir>/katex/``, keyed by KaTeX's version and the page's
formulas: the translations of a chapter carry the same formulas, so they share one entry.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.pages import Page

from attn_site.plugins.base import SitePlugin, is_first_language, is_last_language
from attn_site.plugins.cache import DiskCache
from attn_site.plugins.math.config import MathConfig

SCRIPT = Path(__file__).with_name("katex_render.js")
_FORMULA = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.S)
_DELIMITERS = {"span": ("\\(", "\\)"), "div": ("\\[", "\\]")}


def formulas_of(output: str) -> list[tuple[re.Match[str], str, bool]]:
    """Each arithmatex formula of ``output``: its match, its TeX and whether it is displayed.

    >>> [(tex, display) for _, tex, display in formulas_of('<span class="arithmatex">\\\\(x &lt; 1\\\\)</span>')]
    [('x < 1', False)]
    """
    found = []
    for match in _FORMULA.finditer(output):
        opening, closing = _DELIMITERS[match.group("tag")]
        tex = html.unescape(match.group("tex")).strip()
        if tex.startswith(opening) and tex.endswith(closing):
            found.append((match, tex[len(opening) : -len(closing)], match.group("tag") == "div"))
    return found


class MathPlugin(SitePlugin):
    config_class = MathConfig
    config: MathConfig

    def __init__(self) -> None:
        self.typeset_html: dict[tuple[bool, str], str] = {}  # (display, TeX) -> KaTeX's HTML, for this build
        self.node: subprocess.Popen[str] | None = None
        self.katex_dir = Path("node_modules/katex")
        self.katex_version = ""
        self.store: DiskCache | None = None

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self._stop()
        self.typeset_html.clear()

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled or not is_first_language(config):
            return config  # the other languages' builds share the first one's state
        self.typeset_html.clear()
        self.katex_dir = (self.root(config) / self.config.katex_dir).resolve()
        package = self.katex_dir / "package.json"
        try:
            self.katex_version = json.loads(package.read_text(encoding="utf-8"))["version"]
        except FileNotFoundError:
            raise PluginError(f"KaTeX is missing: no {package} (run npm ci)") from None
        self.store = self.cache(config, "katex")
        self.store.evict()
        return config

    def typeset(self, tex: str, display: bool) -> str:
        """KaTeX's HTML for ``tex``; raises ``ValueError`` with KaTeX's message for invalid TeX."""
        known = self.typeset_html.get((display, tex))
        if known is not None:
            return known
        if self.node is None or self.node.poll() is not None:
            self.node = subprocess.Popen(
                [self.config.node, str(SCRIPT), str(self.katex_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
            )
        assert self.node.stdin is not None and self.node.stdout is not None  # opened with pipes above
        self.node.stdin.write(json.dumps({"tex": tex, "display": display}) + "\n")
        self.node.stdin.flush()
        answer = json.loads(self.node.stdout.readline() or '{"error": "the KaTeX process stopped"}')
        if "error" in answer:
            raise ValueError(answer["error"])
        self.typeset_html[display, tex] = answer["html"]
        return str(answer["html"])

    # after the search index (on_page_context) and the glossary (on_page_content) have read the page's
    # text, which is the whole page by now; below every plugin at the default priority, as the hook was,
    # and above attn/languages (-50) and mkdocs-static-i18n (-100), which only look at the page's head
    @event_priority(-10)
    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str | None:
        if not self.config.enabled or page.file.src_uri.endswith(".ipynb"):
            return output
        formulas = formulas_of(output)
        if not formulas:
            return output
        assert self.store is not None  # set in on_config
        key = self.store.key(self.katex_version, [(display, tex) for _, tex, display in formulas])
        typeset = self.store.read_json(key)
        if not (isinstance(typeset, list) and len(typeset) == len(formulas)):
            try:
                typeset = [self.typeset(tex, display) for _, tex, display in formulas]
            except ValueError as error:
                raise PluginError(f"KaTeX cannot typeset a formula of {page.file.src_uri}: {error}") from None
            self.store.write_json(key, typeset)
        pieces, last = [], 0
        for (match, _, _), typeset_html in zip(formulas, typeset, strict=True):
            tag = match.group("tag")
            pieces += [output[last : match.start()], f'<{tag} class="arithmatex">{typeset_html}</{tag}>']
            last = match.end()
        return "".join(pieces) + output[last:]

    @event_priority(0)  # before mkdocs-static-i18n's (-100), which builds the other languages from within it
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if is_last_language(config):
            self._stop()  # every formula of the site is typeset

    def on_build_error(self, *, error: Exception) -> None:
        self._stop()

    def on_shutdown(self) -> None:
        self._stop()

    def _stop(self) -> None:
        """End the KaTeX process, if one runs (it exits at the end of its input)."""
        node, self.node = self.node, None
        if node is None:
            return
        if node.stdin is not None:
            node.stdin.close()
        try:
            node.wait(timeout=5)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        if node.stdout is not None:
            node.stdout.close()
