"""What the site reads from a page's source: its front matter and the chapter modules it includes.

A chapter's page carries in its front matter what belongs to it in its own language: the
``description`` (the page's summary, shown in the home page's map of the guide) and the words of
its figures, by figure name::

    ---
    description: Masking the future in self-attention, two ways.
    figures:
      weights:
        title: A causal head on “Your journey starts with one step”
    ---

Front matter is read as MkDocs reads it (:func:`mkdocs.utils.meta.get_data`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.utils.meta import get_data

_INCLUDED_MODULE = re.compile(r'^\s*-{1,}8<-{1,} "src/attn_examples/(?P<module>\w+)\.py(?::[\w-]+)?"', re.M)


def front_matter(path: Path) -> dict[str, Any]:
    """The front matter of the page at ``path`` (empty without one).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     page = Path(folder) / "a.en.md"
    ...     _ = page.write_text("---\\ndescription: A page.\\n---\\n\\n# A\\n", encoding="utf-8")
    ...     front_matter(page)
    {'description': 'A page.'}
    """
    return get_data(path.read_text(encoding="utf-8"))[1]


def figure_words(path: Path) -> dict[str, dict[str, str]]:
    """The words of the figures of the page at ``path``: figure name → key → text (``figures``).

    A ``ValueError`` names the page whose ``figures`` is not a mapping of mappings of text.
    """
    words = front_matter(path).get("figures", {})
    if not isinstance(words, dict) or not all(
        isinstance(keys, dict) and all(isinstance(text, str) for text in keys.values()) for keys in words.values()
    ):
        raise ValueError(f"{path}: the front matter's figures must map each figure to its words, e.g. title: ...")
    return words


def included_modules(markdown: str) -> list[str]:
    """The modules of ``attn_examples`` a page includes with ``--8<--``, in the order they first appear.

    >>> included_modules('--8<-- "src/attn_examples/flash.py:imports"\\n--8<-- "src/attn_examples/flash.py"\\n')
    ['flash']
    """
    return list(dict.fromkeys(match["module"] for match in _INCLUDED_MODULE.finditer(markdown)))
