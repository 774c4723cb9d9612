"""Serve the notebook pages' JupyterLab stylesheet once instead of inlining it in every page.

mkdocs-jupyter writes about 570 KB of JupyterLab CSS into a ``<style>`` tag of each notebook page,
the same bytes on all of them, so every notebook page a reader opens downloads it again. Each
large inline stylesheet is written once to ``assets/stylesheets/jupyter-<hash>.css`` and the tag is
replaced by a ``<link>`` to it, in the same place, so the cascade does not change and the browser
caches the file across pages and languages.

That stylesheet styles the whole JupyterLab application, of which a rendered notebook uses a few
dozen classes. After the build, rules whose selectors name a class that no notebook page uses are
dropped from it (about 95% of its size); everything else is kept as written. The result is kept
in ``.cache/notebook-css/`` for the next build with the same stylesheet and classes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import tinycss2

INLINE_STYLE = re.compile(r'<style type="text/css">\n(?P<css>.*?)</style>', re.S)
_CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
_CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
MIN_SHARED_BYTES = 2048  # smaller blocks cost less inline than a request


def used_classes(html: str) -> set[str]:
    """The classes named by ``html``'s class attributes."""
    return {name for classes in _CLASS_ATTRIBUTE.findall(html) for name in classes.split()}


def stylesheet_name(css: str) -> str:
    """The site-relative path of the shared stylesheet holding ``css``."""
    return f"assets/stylesheets/jupyter-{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"


def link_large_styles(html: str, link: Callable[[str], str]) -> str:
    """``html`` with each inline stylesheet of at least MIN_SHARED_BYTES replaced by ``link(css)``."""

    def replace(match: re.Match[str]) -> str:
        css = match.group("css")
        return match.group(0) if len(css.encode()) < MIN_SHARED_BYTES else link(css)

    return INLINE_STYLE.sub(replace, html)


def _selectors(prelude: list[Any]) -> list[str]:
    """Split a selector list at its top-level commas (not those inside ``:is(…)``)."""
    parts: list[list[Any]] = [[]]
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            parts.append([])
        else:
            parts[-1].append(token)
    return [tinycss2.serialize(part) for part in parts]


def _needed(selector: str, used: set[str]) -> bool:
    # a functional pseudo-class such as :not(.x) may match without its classes: keep those
    return "(" in selector or set(_CLASS_SELECTOR.findall(selector)) <= used


def _purge(rules: list[Any], used: set[str]) -> str:
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
