"""Convert the other languages' notebooks to HTML on the idle core while the first language builds.

mkdocs-jupyter converts each notebook page when MkDocs renders it: 8 notebooks in each of five
languages, about 0.5 s each, one after the other, while the machine's second core is idle once the
notebooks have run. Their outputs are the same in every language, so as soon as the first
language's build has them, the executed copies of every language are written, and one background
process converts the other languages' copies into mkdocs-jupyter's own cache: the entry its
``on_pre_page`` would write, at the path it would look for, each written whole (a temporary file,
then a rename). A language build that reaches a notebook before its entry is ready converts it
itself, as without this module; an entry is never read half-written.

This reads three functions of mkdocs-jupyter that it does not document (``_compute_cache_key``,
``_get_cache_path``, ``_get_nb_toc_tokens``); ``tests/site_code/test_notebooks_ahead.py`` fails when
their signatures change and proves that an entry made ahead equals the one mkdocs-jupyter writes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the options of mkdocs-jupyter's plugin that it passes to nb2html, as it names them there
NB2HTML_OPTIONS = (
    "kernel_name",
    "theme",
    "allow_errors",
    "show_input",
    "no_input",
    "no_prompt",
    "remove_tag_config",
    "highlight_extra_classes",
    "include_requirejs",
    "custom_mathjax_url",
)


@dataclass(frozen=True)
class Conversion:
    """One notebook to convert into mkdocs-jupyter's cache: the executed copy and where its entry goes."""

    notebook: Path
    entry: Path
    options: dict[str, Any]  # nb2html's keyword arguments
    toc_depth: int


def conversion(notebook: Path, cache_dir: Path, jupyter_config: Any) -> Conversion:
    """What mkdocs-jupyter's ``on_pre_page`` would convert for ``notebook`` with its plugin's ``jupyter_config``."""
    from mkdocs_jupyter.plugin import _compute_cache_key, _get_cache_path

    execute = bool(jupyter_config["execute"])
    key = _compute_cache_key(str(notebook), jupyter_config, execute)
    options = {name: jupyter_config[name] for name in NB2HTML_OPTIONS} | {"execute": execute}
    return Conversion(notebook, Path(_get_cache_path(str(cache_dir), key)), options, int(jupyter_config["toc_depth"]))


def convert(job: Conversion) -> Path:
    """Write ``job``'s cache entry as mkdocs-jupyter writes it, unless it exists; return its path."""
    from mkdocs_jupyter import nbconvert2
    from mkdocs_jupyter.plugin import _get_nb_toc_tokens

    if job.entry.exists():
        return job.entry
    body = nbconvert2.nb2html(str(job.notebook), **job.options)
    toc_tokens, title = _get_nb_toc_tokens(str(job.notebook), job.toc_depth)
    job.entry.parent.mkdir(parents=True, exist_ok=True)
    partial = job.entry.with_name(f".{job.entry.name}.{os.getpid()}")
    partial.write_text(json.dumps({"content": body, "toc_tokens": toc_tokens, "title": title}), encoding="utf-8")
    partial.replace(job.entry)
    return job.entry


class Ahead:
    """One background process converting notebooks, started at the first job, stopped by :meth:`stop`."""

    def __init__(self) -> None:
        self.pool: ProcessPoolExecutor | None = None

    def submit(self, jobs: list[Conversion]) -> None:
        if not jobs:
            return
        if self.pool is None:  # spawned: a forked copy of a build with kernels and threads is not safe
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        for job in jobs:
            self.pool.submit(convert, job)

    def stop(self) -> None:
        """Drop what has not started; a conversion under way finishes its own file."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None
