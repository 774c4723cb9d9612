"""Keep mkdocs-jupyter's notebook conversions on disk, across languages and builds.

Converting a notebook to HTML with nbconvert takes a fraction of a second, 40 times per build
(8 notebooks x 5 languages): most of a warm build; its conversion to Markdown, from which
mkdocs-jupyter takes the table of contents, costs a tenth of a second more each time. mkdocs-jupyter has a cache, but after each
build it deletes the entries that build did not use, and mkdocs-static-i18n runs one build per
language, so every language evicts the others' entries and none survives to the next build.
This hook caches ``mkdocs_jupyter.convert.nb2html`` and ``nb2md`` instead, keyed by the notebook's bytes (its
executed copy, outputs included: see notebook_outputs.py), the conversion options and the
versions of mkdocs-jupyter and nbconvert, in ``.cache/notebook-html/``. Entries unused for a week
are deleted.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import mkdocs_jupyter.convert as convert
from mkdocs.config.defaults import MkDocsConfig

CACHE = Path(".cache") / "notebook-html"  # under the folder of mkdocs.yml
MAX_AGE_S = 7 * 24 * 3600
_VERSIONS = f"mkdocs-jupyter {version('mkdocs-jupyter')} nbconvert {version('nbconvert')}"
_root = Path.cwd()


def _cached(convert_notebook: Callable[..., str], suffix: str) -> Callable[..., str]:
    """``convert_notebook`` with a disk cache in ``.cache/notebook-html`` beside mkdocs.yml."""
    convert_notebook = getattr(convert_notebook, "__wrapped__", convert_notebook)  # `mkdocs serve` reloads hooks

    @functools.wraps(convert_notebook)
    def cached(nb_path: str, **options: object) -> str:
        key = hashlib.sha256(Path(nb_path).read_bytes())
        key.update(f"{sorted(options.items())!r} {_VERSIONS}".encode())
        path = _root / CACHE / f"{key.hexdigest()}{suffix}"
        if path.exists():
            path.touch()  # marks it as used, for the eviction below
            return path.read_text(encoding="utf-8")
        text = convert_notebook(nb_path, **options)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return text

    return cached


convert.nb2html = _cached(convert.nb2html, ".html")
convert.nb2md = _cached(convert.nb2md, ".md")


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _root
    _root = Path(config.config_file_path).parent
    for entry in (_root / CACHE).glob("*.*"):
        if time.time() - entry.stat().st_mtime > MAX_AGE_S:
            entry.unlink()
    return config
