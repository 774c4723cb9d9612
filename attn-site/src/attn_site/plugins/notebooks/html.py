"""Keep mkdocs-jupyter's notebook conversions on disk, across languages and builds.

Converting a notebook to HTML (and to Markdown, for its table of contents) takes most of a warm
build's time on notebook pages: 8 notebooks x 5 languages. mkdocs-jupyter caches both through its
own options (``cache``, ``cache_dir``), keyed by the notebook's bytes (here the executed copy,
outputs included: see :mod:`.execute`) and its conversion options; but after each build it deletes
the entries that build did not use, and mkdocs-static-i18n runs one build per language, so with one
folder every language would evict the others' entries. Each language therefore gets its own folder,
inside one named by the versions of mkdocs-jupyter and nbconvert (which its key leaves out):
``.cache/notebook-html/<versions key>/<lang>/``. Folders of other versions left unused for a week
are deleted.
"""

from __future__ import annotations

import shutil
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError

from attn_site.plugins.cache import WEEK_S, DiskCache

JUPYTER_PLUGIN = "mkdocs-jupyter"


def converter_versions() -> dict[str, str]:
    """What mkdocs-jupyter's HTML depends on beyond its cache key."""
    return {name: version(name) for name in ("mkdocs-jupyter", "nbconvert", "pygments")}


def html_cache_dir(cache: DiskCache, lang: str) -> Path:
    """The folder of mkdocs-jupyter's cache for ``lang``, under ``cache`` (marked as used)."""
    folder = cache.path(DiskCache.key(converter_versions()))
    folder.mkdir(parents=True, exist_ok=True)
    folder.touch()
    return folder / lang


def jupyter_plugin(config: MkDocsConfig) -> Any:
    """mkdocs-jupyter's plugin in this build."""
    plugin = config.plugins.get(JUPYTER_PLUGIN)
    if plugin is None:
        raise PluginError(f"attn/notebooks needs the {JUPYTER_PLUGIN} plugin, listed before it in mkdocs.yml")
    return plugin


def use_jupyter_cache(config: MkDocsConfig, folder: Path) -> None:
    """Point mkdocs-jupyter's own cache at ``folder`` (its ``cache`` and ``cache_dir`` options)."""
    plugin = jupyter_plugin(config)
    plugin.config["cache"] = True
    plugin.config["cache_dir"] = str(folder)


def evict_old_versions(cache: DiskCache, keep: Path, max_age_s: float = WEEK_S) -> int:
    """Delete the version folders of ``cache`` other than ``keep`` left unused for ``max_age_s``."""
    if not cache.folder.is_dir():
        return 0
    removed = 0
    for entry in cache.folder.iterdir():
        if entry != keep and entry.stat().st_mtime < time.time() - max_age_s:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)  # an entry of the conversion cache this one replaced
            removed += 1
    return removed
