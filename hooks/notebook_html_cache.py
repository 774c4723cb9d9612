"""Keep mkdocs-jupyter's notebook-to-HTML conversions on disk, across languages and builds.

Converting a notebook to HTML with nbconvert takes a fraction of a second, 40 times per build
(8 notebooks x 5 languages): most of a warm build. mkdocs-jupyter has a cache, but after each
build it deletes the entries that build did not use, and mkdocs-static-i18n runs one build per
language, so every language evicts the others' entries and none survives to the next build.
This hook caches ``mkdocs_jupyter.convert.nb2html`` instead, keyed by the notebook's bytes (its
executed copy, outputs included: see notebook_outputs.py), the conversion options and the
versions of mkdocs-jupyter and nbconvert, in ``.cache/notebook-html/``. Entries unused for a week
are deleted.
"""

from __future__ import annotations

import hashlib
import time
from importlib.metadata import version
from pathlib import Path

import mkdocs_jupyter.convert as convert
from mkdocs.config.defaults import MkDocsConfig

CACHE = Path(".cache") / "notebook-html"  # under the folder of mkdocs.yml
MAX_AGE_S = 7 * 24 * 3600
_VERSIONS = f"mkdocs-jupyter {version('mkdocs-jupyter')} nbconvert {version('nbconvert')}"
_convert = getattr(convert.nb2html, "__wrapped__", convert.nb2html)  # `mkdocs serve` reloads hooks
_root = Path.cwd()


def cached_nb2html(nb_path: str, **options: object) -> str:
    """``nb2html`` with a disk cache in ``.cache/notebook-html`` beside mkdocs.yml."""
    key = hashlib.sha256(Path(nb_path).read_bytes())
    key.update(f"{sorted(options.items())!r} {_VERSIONS}".encode())
    path = _root / CACHE / f"{key.hexdigest()}.html"
    if path.exists():
        path.touch()  # marks it as used, for the eviction below
        return path.read_text(encoding="utf-8")
    html = _convert(nb_path, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return html


cached_nb2html.__wrapped__ = _convert  # type: ignore[attr-defined]
convert.nb2html = cached_nb2html


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _root
    _root = Path(config.config_file_path).parent
    for entry in (_root / CACHE).glob("*.html"):
        if time.time() - entry.stat().st_mtime > MAX_AGE_S:
            entry.unlink()
    return config
