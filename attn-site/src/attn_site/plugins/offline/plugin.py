"""Serve every front-end asset from the site itself: no request leaves the reader's machine.

* KaTeX (math) comes from ``node_modules``, installed by ``npm ci`` from the pinned
  ``package-lock.json``; its script, stylesheet and woff2 fonts are added to the build under
  ``assets/katex/``.
* mkdocs-jupyter's template loads MathJax, mermaid and RequireJS from CDNs on notebook pages;
  those tags are removed (KaTeX renders notebook math too).
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from attn_site.plugins.base import SitePlugin
from attn_site.plugins.offline.config import OfflineConfig

KATEX_DEST = "assets/katex"

# <script src="https://..."></script>, and inline scripts that import a module from a URL
# (`import x from "https://..."` or `await import("https://...")`, as mkdocs-jupyter's mermaid loader does)
_REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>"
    r"|<script\b[^>]*>(?:(?!</script>).)*?\b(?:from|import)\s*\(?\s*[\"']https?://(?:(?!</script>).)*?</script>",
    re.DOTALL | re.IGNORECASE,
)


def without_remote_scripts(html: str) -> str:
    """``html`` without the scripts that load code from another host.

    >>> without_remote_scripts('<p>a</p><script src="https://cdn.x/m.js"></script><script>import("https://y/z")</script>')
    '<p>a</p>'
    >>> without_remote_scripts('<script src="../assets/katex/katex.min.js"></script>')
    '<script src="../assets/katex/katex.min.js"></script>'
    """
    return _REMOTE_SCRIPT.sub("", html)


def katex_files(root: Path) -> list[tuple[str, Path]]:
    """(destination URI, source) of KaTeX's files the site serves, from ``root/node_modules``."""
    dist = root / "node_modules" / "katex" / "dist"
    if not dist.is_dir():
        raise PluginError(f"KaTeX not found at {dist}: run 'npm ci' (the Makefile does it)")
    wanted = [dist / "katex.min.js", dist / "katex.min.css", dist / "contrib" / "auto-render.min.js"]
    wanted += sorted((dist / "fonts").glob("*.woff2"))
    return [(f"{KATEX_DEST}/{path.relative_to(dist).as_posix()}", path) for path in wanted]


class OfflinePlugin(SitePlugin):
    config_class = OfflineConfig
    config: OfflineConfig

    @event_priority(0)  # before mkdocs-static-i18n (-100), which shares files without a language suffix
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return files
        for dest_uri, path in katex_files(self.root(config)):
            if files.get_file_from_path(dest_uri) is None:
                files.append(File.generated(config, dest_uri, abs_src_path=str(path)))
        return files

    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if self.config.enabled and page.file.src_uri.endswith(".ipynb"):
            return without_remote_scripts(html)
        return html
