"""The site's own words, one file per language: ``words/<lang>.yml``.

Everything the build writes into pages besides the pages' own text comes from there: the download
buttons of a page's code and of the lab notebooks, the title of a heading's permanent link, the
"not found" page, the translation-status table, the banner of an outdated translation and the
labels the chapters' figures share (``figure``; each figure's own words are in its page,
:mod:`attn_site.figures`). Every language has the same keys but English, which needs no banner.

>>> words_for("it")["not_found"]["title"]
'Pagina non trovata'
>>> sorted(words_for("en"))
['download_code', 'download_notebook', 'figure', 'guide_map', 'not_found', 'permalink', 'translation_status']
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

FOLDER = Path(__file__).parent / "words"


def languages() -> list[str]:
    """The languages that have words here."""
    return sorted(path.stem for path in FOLDER.glob("*.yml"))


@cache
def words_for(lang: str) -> dict[str, Any]:
    """The words of ``lang``; a ``LookupError`` names the missing file."""
    path = FOLDER / f"{lang}.yml"
    if not path.is_file():
        raise LookupError(f"no words for language {lang!r}: add {path}")
    words = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(words, dict):
        raise ValueError(f"{path}: expected a mapping of names to words")
    return words
