"""What each built page costs a reader who opens it first: its HTML plus every same-site file it loads.

Run ``python -m tests.site_checks.page_weight`` after a build for the report: the
largest pages and the size of the site per language.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup

from tests.site_checks.layout import LANGUAGES, SITE

# what a page makes the browser download as it loads (fonts come later, only the ones used)
_LOADS = {"link": "href", "script": "src", "img": "src"}


@cache
def _size(path: Path) -> int:
    return path.stat().st_size


def loaded_files(html: Path) -> set[Path]:
    """The same-site stylesheets, scripts and images ``html`` loads."""
    page = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    base = "/" + html.relative_to(SITE).as_posix()
    found = set()
    for tag, attribute in _LOADS.items():
        for element in page.find_all(tag):
            if tag == "link" and not {"stylesheet", "modulepreload", "preload"} & set(element.get("rel", [])):
                continue
            url = element.get(attribute)
            if not url or urlsplit(url).scheme or urlsplit(url).netloc:
                continue
            target = SITE / unquote(urlsplit(urljoin(base, url)).path).lstrip("/")
            if target.is_file():
                found.add(target)
    return found


def page_weight(html: Path) -> int:
    """Bytes transferred for ``html`` with an empty cache (uncompressed), as it loads."""
    return _size(html) + sum(_size(f) for f in loaded_files(html))


# what a page's scripts fetch once it has loaded, by the element that makes them fetch it (the explorer's
# trained model: attn/model serves its weights, gpt-explorer.js fetches them when the page has the explorer)
_FETCHES = {'class="gpt-explorer"': "assets/tiny-gpt.safetensors"}


def fetched_weight(html: Path) -> int:
    """Bytes the scripts of ``html`` fetch after it has loaded (uncompressed)."""
    text = html.read_text(encoding="utf-8")
    return sum(_size(SITE / path) for marker, path in _FETCHES.items() if marker in text)


def language_of(path: Path) -> str:
    first = path.relative_to(SITE).parts[0]
    return first if first in LANGUAGES[1:] else "shared" if first == "assets" else LANGUAGES[0]


def report() -> str:
    pages = sorted(((page_weight(p), p) for p in SITE.rglob("*.html")), reverse=True)
    totals: dict[str, int] = {}
    for f in SITE.rglob("*"):
        if f.is_file():
            totals[language_of(f)] = totals.get(language_of(f), 0) + _size(f)
    lines = ["largest pages (HTML + stylesheets, scripts and images, uncompressed):"]
    lines += [f"  {w / 1e3:8.1f} kB  /{p.relative_to(SITE).as_posix()}" for w, p in pages[:5]]
    lines.append("site size per language (files under its folder; shared = assets):")
    lines += [f"  {lang:6s} {size / 1e6:7.2f} MB" for lang, size in sorted(totals.items())]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
