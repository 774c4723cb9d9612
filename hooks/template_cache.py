"""Compile the theme's Jinja templates once, not again in every language and every build.

mkdocs-static-i18n builds each language with a new Jinja environment, and every environment
compiles Material's templates from their source: five times per build, and again on each rebuild
of ``mkdocs serve``. Jinja can keep compiled templates on disk; this hook gives each environment
such a cache in ``.cache/jinja/``. Jinja keys each entry by the template's name and the checksum
of its source, so an edited template is compiled again.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files

CACHE = Path(".cache") / "jinja"  # under the folder of mkdocs.yml


def on_env(env: Environment, config: MkDocsConfig, files: Files) -> Environment:
    folder = Path(config.config_file_path).parent / CACHE
    folder.mkdir(parents=True, exist_ok=True)
    env.bytecode_cache = FileSystemBytecodeCache(str(folder))
    return env
