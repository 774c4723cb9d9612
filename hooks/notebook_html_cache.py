"""Keep mkdocs-jupyter's notebook conversions on disk, across languages and builds.

Converting a notebook to HTML with nbconvert takes a fraction of a second, 40 times per build
(8 notebooks x 5 languages): most of a warm build; its conversion to Markdown, from which
mkdocs-jupyter takes the table of contents, costs a tenth of a second more each time.
mkdocs-jupyter has a cache, but after each build it deletes the entries that build did not use,
and mkdocs-static-i18n runs one build per language, so every language evicts the others' entries
and none survives to the next build. This hook caches ``mkdocs_jupyter.convert.nb2html`` and
``nb2md`` instead, keyed by the notebook's bytes (its executed copy, outputs included: see
notebook_outputs.py), the conversion options and the versions of mkdocs-jupyter and nbconvert, in
``.cache/notebook-html/``. Entries unused for a week are deleted. The first conversion a build
needs starts all of them, for every language it builds, in worker processes (one per core;
notebook_outputs.py has written every language's executed copy by then), and each page then
takes its result.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from importlib.metadata import version
from pathlib import Path

import mkdocs_jupyter.convert as convert
from mkdocs.config.defaults import MkDocsConfig

from attn_site.i18n import build_order, split_source

CACHE = Path(".cache") / "notebook-html"  # under the folder of mkdocs.yml
EXECUTED = Path(".cache") / "executed-notebooks"  # written by notebook_outputs.py
MAX_AGE_S = 7 * 24 * 3600
_VERSIONS = f"mkdocs-jupyter {version('mkdocs-jupyter')} nbconvert {version('nbconvert')}"
_root = Path.cwd()
_docs = Path.cwd() / "docs"
_languages: list[str] = []
_pool: ProcessPoolExecutor | None = None
_pending: dict[Path, Future[str]] = {}  # cache file -> its conversion under way in _pool


def _cache_file(nb_path: str, options: dict[str, object], suffix: str) -> Path:
    key = hashlib.sha256(Path(nb_path).read_bytes())
    key.update(f"{sorted(options.items())!r} {_VERSIONS}".encode())
    return _root / CACHE / f"{key.hexdigest()}{suffix}"


def _convert_the_others(html_options: dict[str, object]) -> None:
    """Convert every executed notebook of the build's languages in worker processes, one per core."""
    global _pool
    sources = [path.relative_to(_docs).as_posix() for path in _docs.rglob("*.ipynb")]

    def language_order(path: Path) -> int:
        split = split_source(path.name)
        assert split is not None  # the notebooks below are the ones with a language suffix
        return _languages.index(split[1])

    notebooks = sorted(  # the executed copies of the build's notebooks, the language built first, first
        (
            _root / EXECUTED / src_uri
            for src_uri in sources
            if (split := split_source(src_uri)) and split[1] in _languages and (_root / EXECUTED / src_uri).exists()
        ),
        key=language_order,
    )
    jobs = []
    for path in notebooks:
        for function, options, suffix in ((_nb2html, html_options, ".html"), (_nb2md, {}, ".md")):
            target = _cache_file(str(path), options, suffix)
            if not target.exists() and target not in _pending:
                jobs.append((function, str(path), options, target))
    if len(jobs) < 2:
        return
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn"))
    for function, nb_path, options, target in jobs:
        _pending[target] = _pool.submit(function, nb_path, **options)


def _cached(convert_notebook: Callable[..., str], suffix: str) -> Callable[..., str]:
    """``convert_notebook`` with a disk cache in ``.cache/notebook-html`` beside mkdocs.yml."""

    @functools.wraps(convert_notebook)
    def cached(nb_path: str, **options: object) -> str:
        path = _cache_file(nb_path, options, suffix)
        if path not in _pending and path.exists():
            path.touch()  # marks it as used, for the eviction below
            return path.read_text(encoding="utf-8")
        if path not in _pending and suffix == ".html":
            _convert_the_others(options)  # the first conversion of a build starts all of them
        future = _pending.pop(path, None)
        text = future.result() if future is not None else convert_notebook(nb_path, **options)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return text

    return cached


_nb2html = getattr(convert.nb2html, "__wrapped__", convert.nb2html)  # `mkdocs serve` reloads hooks
_nb2md = getattr(convert.nb2md, "__wrapped__", convert.nb2md)
convert.nb2html = _cached(_nb2html, ".html")
convert.nb2md = _cached(_nb2md, ".md")


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _root, _docs
    _root, _docs = Path(config.config_file_path).parent, Path(config.docs_dir)
    _languages[:] = build_order(config)
    for entry in (_root / CACHE).glob("*.*"):
        if time.time() - entry.stat().st_mtime > MAX_AGE_S:
            entry.unlink()
    return config


def on_post_build(config: MkDocsConfig) -> None:
    global _pool
    if config.theme["language"] != build_order(config)[-1] or _pool is None:
        return
    for target, future in _pending.items():  # conversions no page asked for (a notebook since removed)
        if not future.cancel() and future.exception() is None:
            target.write_text(future.result(), encoding="utf-8")
    _pending.clear()
    _pool.shutdown()
    _pool = None
