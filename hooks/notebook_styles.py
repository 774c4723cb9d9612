"""Serve the notebook pages' JupyterLab stylesheet once instead of inlining it in every page.

mkdocs-jupyter writes about 570 KB of JupyterLab CSS into a ``<style>`` tag of
each notebook page, the same bytes on all of them, so every notebook page a
reader opens downloads it again. Each large inline stylesheet is written once
to ``assets/stylesheets/jupyter-<hash>.css`` and the tag is replaced by a
``<link>`` to it, in the same place, so the cascade does not change and the
browser caches the file across pages and languages.

That stylesheet styles the whole JupyterLab application, of which a rendered
notebook uses a few dozen classes. After the build, rules whose selectors
name a class that no notebook page uses are dropped from it (about 95% of
its size); everything else is kept as written. The result is kept in
``.cache/notebook-css/`` for the next build with the same stylesheet and classes.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import tinycss2
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from attn_site.i18n import build_order

_INLINE_STYLE = re.compile(r'<style type="text/css">\n(?P<css>.*?)</style>', re.S)
_CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
_CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
MIN_SHARED_BYTES = 2048  # smaller blocks cost less inline than a request
CACHE = Path(".cache") / "notebook-css"  # under the folder of mkdocs.yml
MAX_AGE_S = 7 * 24 * 3600

_stylesheets: set[Path] = set()
_used_classes: set[str] = set()


def on_pre_build(config: MkDocsConfig) -> None:
    _stylesheets.clear()  # each language's build writes the stylesheets again into the shared folder
    if config.theme["language"] == build_order(config)[0]:
        _used_classes.clear()  # a new build of the whole site: collect classes from every language


def _selectors(prelude: list) -> list[str]:
    """Split a selector list at its top-level commas (not those inside ``:is(…)``)."""
    parts: list[list] = [[]]
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            parts.append([])
        else:
            parts[-1].append(token)
    return [tinycss2.serialize(part) for part in parts]


def _needed(selector: str, used: set[str]) -> bool:
    # a functional pseudo-class such as :not(.x) may match without its classes: keep those
    return "(" in selector or set(_CLASS_SELECTOR.findall(selector)) <= used


def _purge(rules: list, used: set[str]) -> str:
    """Serialise ``rules``, keeping only selectors whose classes all appear in ``used``."""
    out = []
    for rule in rules:
        if rule.type == "qualified-rule":
            kept = [sel for sel in _selectors(rule.prelude) if _needed(sel, used)]
            if kept:
                out.append(",".join(kept).strip() + "{" + tinycss2.serialize(rule.content) + "}")
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports") and rule.content is not None:
            inner = _purge(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True), used)
            if inner:
                out.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{inner}}}")
        elif rule.type == "at-rule":
            out.append(tinycss2.serialize([rule]))
    return "".join(out)


def purge_unused_rules(css: str, used: set[str]) -> str:
    """Drop the rules of ``css`` that name a class outside ``used``.

    >>> purge_unused_rules(".a{color:red}.b .a,.a p{margin:0}@media print{.c{x:y}}", {"a"})
    '.a{color:red}.a p{margin:0}'
    """
    return _purge(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True), used)


def shared_stylesheet(css: str, site_dir: Path) -> str:
    """Write ``css`` under ``site_dir`` (once per content and build) and return its site-relative path."""
    name = f"assets/stylesheets/jupyter-{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
    path = site_dir / name
    if path not in _stylesheets:  # a file left by an earlier build of `mkdocs serve` was purged: rewrite it
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(css, encoding="utf-8")
    _stylesheets.add(path)
    return name


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return output
    for classes in _CLASS_ATTRIBUTE.findall(output):
        _used_classes.update(classes.split())

    def link(match: re.Match[str]) -> str:
        css = match.group("css")
        if len(css.encode()) < MIN_SHARED_BYTES:
            return match.group(0)
        name = shared_stylesheet(css, Path(config.site_dir))
        return f'<link rel="stylesheet" href="{get_relative_url(name, page.url)}">'

    return _INLINE_STYLE.sub(link, output)


def on_post_build(config: MkDocsConfig) -> None:
    if config.theme["language"] != build_order(config)[-1]:
        return  # purge once, after the last language, with the classes of all of them
    cache = Path(config.config_file_path).parent / CACHE
    for path in _stylesheets:
        css = path.read_text(encoding="utf-8")
        key = hashlib.sha256((css + " ".join(sorted(_used_classes))).encode()).hexdigest()
        purged = cache / f"{key}.css"  # the same CSS and classes as a build before: the same result
        if not purged.exists():
            cache.mkdir(parents=True, exist_ok=True)
            purged.write_text(purge_unused_rules(css, _used_classes), encoding="utf-8")
        for old in cache.glob("*.css"):
            if old != purged and time.time() - old.stat().st_mtime > MAX_AGE_S:
                old.unlink()
        purged.touch()
        path.write_text(purged.read_text(encoding="utf-8"), encoding="utf-8")
