"""A real browser (Debian's Chromium driven by Playwright) on the built site, served locally.

Playwright's own browser download does not work offline, so the system Chromium
is used (the Makefile installs it). Every request that leaves 127.0.0.1 is
recorded and blocked; every console error is recorded. A failing test leaves a
screenshot in test-results/.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import mimetypes
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from tests.site_checks.layout import ROOT, SITE

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-results"

if not CHROMIUM.is_file():
    pytest.fail(f"{CHROMIUM} not found: `make test` installs Debian's chromium", pytrace=False)
if not (SITE / "index.html").is_file():
    pytest.fail("site/ is missing: run `make build` first", pytrace=False)


class _StaticHostHandler(http.server.SimpleHTTPRequestHandler):
    """Serves site/ as a static host such as GitHub Pages does: text files gzip-compressed when accepted."""

    COMPRESSED: ClassVar[set[str]] = {".html", ".css", ".js", ".svg", ".json", ".xml", ".txt"}

    def send_head(self):  # type: ignore[override]
        path = Path(self.translate_path(self.path))
        if self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        if (
            path.suffix not in self.COMPRESSED
            or not path.is_file()
            or "gzip" not in self.headers.get("Accept-Encoding", "")
        ):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    handler = functools.partial(_StaticHostHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class Watched:
    """What a page did that a reader would not want: console errors, requests off the machine."""

    console_errors: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser, base_url: str, request: pytest.FixtureRequest):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watched = Watched()

    def route(route) -> None:
        url = route.request.url
        if url.startswith(base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            watched.offsite_requests.append(url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: msg.type == "error" and watched.console_errors.append(msg.text))
    page.on("pageerror", lambda error: watched.console_errors.append(str(error)))
    page.on("response", lambda r: r.status >= 400 and watched.console_errors.append(f"HTTP {r.status} {r.url}"))
    page.watched = watched
    yield page
    if request.node.stash.get(_FAILED, False):
        SCREENSHOTS.mkdir(exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()
