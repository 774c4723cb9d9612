"""A download of each page's code: its ``python`` blocks as one file that runs with PyTorch alone.

For every page whose English source shows ``python`` blocks, each language's site gets the file
``code/<page>.py`` (:func:`attn_site.listings.code_file`: a header, then the blocks in page order,
snippets included), and the page gets ``page.meta["code_file"]``, its path from the site's root,
from which ``overrides/main.html`` draws a download button labelled in the page's language
(``download_code`` in ``words/<lang>.yml``). The code is the same in every language: translations
carry the English page's code blocks character for character.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from attn_site.i18n import SOURCE, split_source
from attn_site.listings import code_file, code_file_name, page_code, page_title
from attn_site.plugins.base import SitePlugin
from attn_site.plugins.listings.config import ListingsConfig


class ListingsPlugin(SitePlugin):
    config_class = ListingsConfig
    config: ListingsConfig

    # after mkdocs-static-i18n's (-100), which expects every file to have a source on disk
    @event_priority(-110)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return files
        self._code_files: dict[str, str] = {}  # page stem -> path of its code file from the site's root
        docs = Path(config.docs_dir)
        for english in sorted(docs.glob(f"*.{SOURCE}.md")):
            if not page_code(self.root(config), english):
                continue
            stem = english.name.split(".", 1)[0]
            path = f"{self.config.folder}/{code_file_name(stem)}"
            content = code_file(self.root(config), english, page_title(english))
            files.append(File.generated(config, path, content=content))
            self._code_files[stem] = path
        return files

    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        split = split_source(page.file.src_uri)
        if self.config.enabled and split is not None and split[0] in self._code_files:
            page.meta["code_file"] = self._code_files[split[0]]
        return markdown
