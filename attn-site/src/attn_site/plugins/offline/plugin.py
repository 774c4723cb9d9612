"""Serve every front-end asset from the site itself: no request leaves the reader's machine.

* KaTeX (math) comes from ``node_modules``, installed by ``npm ci`` from the pinned
  ``package-lock.json``; its script, stylesheet and woff2 fonts are added to the build under
  ``assets/katex/``.
* mkdocs-jupyter's template loads MathJax, mermaid and RequireJS from CDNs on notebook pages;
  those tags are removed (KaTeX renders notebook math too).
* Every page carries a Content-Security-Policy (a ``<meta>`` tag, as a static host may set no
  header): scripts from the site itself and the page's own inline scripts, by their SHA-256 hash,
  and nothing else; no plugin, frame or form to another host. A script that reached a page by any
  other way (an injected tag, an event handler) does not run. ``mkdocs serve`` gets no policy: its
  live reload adds an inline script to every page as it serves it.
"""

from __future__ import annotations

import base64
import hashlib
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


_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
POLICY = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'"
)


def content_security_policy(html: str) -> str:
    """The policy of a page: the site's own script files, and the inline scripts of ``html`` by hash.

    >>> policy = content_security_policy("<script>go()</script><script src='a.js'></script>")
    >>> policy.split("; ")[1]
    "script-src 'self' 'sha256-5KYv+PUboo5h+0+YAtGRPbwv5d/QxzHslP4YGnUaxRw='"
    """
    digests = {hashlib.sha256(script.encode("utf-8")).digest() for script in _INLINE_SCRIPT.findall(html)}
    hashes = "".join(sorted(f" 'sha256-{base64.b64encode(digest).decode('ascii')}'" for digest in digests))
    return POLICY.format(hashes=hashes)


def with_content_security_policy(html: str) -> str:
    """``html`` with its policy in a ``<meta>`` tag, first in ``<head>`` (before any script)."""
    head = _HEAD.search(html)
    if head is None:
        return html
    meta = f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(html)}">'
    return html[: head.end()] + meta + html[head.end() :]


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

    def __init__(self) -> None:
        self.with_policy = True  # not under `mkdocs serve`, whose live reload adds an inline script

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.with_policy = command != "serve"

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

    @event_priority(-100)  # last: the policy hashes the page's final inline scripts
    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str | None:
        return with_content_security_policy(output) if self.config.enabled and self.with_policy else output

    @event_priority(-40)  # before attn/languages (-50) writes each language's copy of the not-found page
    def on_post_template(self, output_content: str, *, template_name: str, config: MkDocsConfig) -> str | None:
        if self.config.enabled and self.with_policy and template_name.endswith(".html"):  # the not-found page
            return with_content_security_policy(output_content)
        return output_content
