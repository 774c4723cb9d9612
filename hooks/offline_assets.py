"""Serve every front-end asset from the site itself: no request leaves the reader's machine.

* KaTeX (math) comes from ``node_modules``, installed by ``npm ci`` from the
  pinned ``package-lock.json``; its script, stylesheet and woff2 fonts are added
  to the build under ``assets/katex/``.
* mkdocs-jupyter's template loads MathJax, mermaid and RequireJS from CDNs on
  notebook pages; those tags are removed (KaTeX renders notebook math too).
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

KATEX_DEST = "assets/katex"

# <script src="https://..."></script>, and inline scripts that import a module from a URL
# (`import x from "https://..."` or `await import("https://...")`, as mkdocs-jupyter's mermaid loader does)
_REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>"
    r"|<script\b[^>]*>(?:(?!</script>).)*?\b(?:from|import)\s*\(?\s*[\"']https?://(?:(?!</script>).)*?</script>",
    re.DOTALL | re.IGNORECASE,
)


def _katex_files(config: MkDocsConfig) -> list[tuple[str, Path]]:
    dist = Path(config.config_file_path).parent / "node_modules" / "katex" / "dist"
    if not dist.is_dir():
        raise PluginError(f"KaTeX not found at {dist}: run 'npm ci' (the Makefile does it)")
    wanted = [dist / "katex.min.js", dist / "katex.min.css", dist / "contrib" / "auto-render.min.js"]
    wanted += sorted((dist / "fonts").glob("*.woff2"))
    return [(f"{KATEX_DEST}/{path.relative_to(dist).as_posix()}", path) for path in wanted]


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for dest_uri, path in _katex_files(config):
        if files.get_file_from_path(dest_uri) is None:
            files.append(File.generated(config, dest_uri, abs_src_path=str(path)))
    return files


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        html = _REMOTE_SCRIPT.sub("", html)
    return html
