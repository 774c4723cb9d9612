"""The one change the site makes to another package's objects: ``.ipynb`` counts as a page.

mkdocs-static-i18n rebuilds each file as a plain MkDocs ``File``, which counts as a page only if
its extension is in ``mkdocs.utils.markdown_extensions``. mkdocs-jupyter's ``NotebookFile`` wrapper
is lost, every ``.ipynb`` would be copied to the site as raw JSON, and ``--strict`` would not
notice (mkdocs-static-i18n issue 198). MkDocs has no public way to add a page extension, so
``.ipynb`` is appended to that tuple. tests/site_checks/test_notebooks_plugin.py fails when MkDocs
changes the tuple's type or stops reading it in ``File.is_documentation_page``.
"""

from __future__ import annotations

import mkdocs.utils

NOTEBOOK_EXTENSION = ".ipynb"


def register_notebook_pages() -> None:
    """Make ``.ipynb`` files pages for MkDocs, whoever built their ``File`` (idempotent)."""
    extensions = mkdocs.utils.markdown_extensions
    if not isinstance(extensions, tuple) or not all(isinstance(ext, str) for ext in extensions):
        raise TypeError(f"mkdocs.utils.markdown_extensions is no longer a tuple of strings: {extensions!r}")
    if NOTEBOOK_EXTENSION not in extensions:
        # mkdocs leaves this tuple unannotated, so its type is inferred as exactly five strings
        mkdocs.utils.markdown_extensions = (*extensions, NOTEBOOK_EXTENSION)  # type: ignore[assignment]
