"""A real browser (Debian's Chromium driven by Playwright) on the built site, served locally.

Playwright's own browser download does not work offline, so Debian's Chromium is used (the
Makefile installs it): its headless shell, the same engine without the desktop browser's
interface, as Playwright itself runs headless tests (half the CPU time of the full browser per page
load); Lighthouse measures with the full browser (``test_lighthouse.py``). Every request that leaves 127.0.0.1 is
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
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from tests.site_checks.layout import ROOT, SITE

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
HEADLESS_SHELL = Path(os.environ.get("CHROMIUM_HEADLESS_SHELL", "/usr/bin/chromium-headless-shell"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-results"

for _browser in (CHROMIUM, HEADLESS_SHELL):
    if not _browser.is_file():
        pytest.fail(f"{_browser} not found: `make test` installs it (Debian's chromium packages)", pytrace=False)
if not (SITE / "index.html").is_file():
    pytest.fail("site/ is missing: run `make build` first", pytrace=False)


@functools.lru_cache(maxsize=256)
def _gzipped(path: Path, modified_ns: int) -> bytes:
    """A file's bytes gzip-compressed, once per version (every page loads the same large search index)."""
    return gzip.compress(path.read_bytes(), compresslevel=6)


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
        body = _gzipped(path, path.stat().st_mtime_ns)
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _StaticHost(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that closes a connection mid-response (a test ending) is no error of the site's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    handler = functools.partial(_StaticHostHandler, directory=str(SITE))
    server = _StaticHost(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(HEADLESS_SHELL), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class Watched:
    """What a page did that a reader would not want (console errors, offsite requests); its requests in flight."""

    console_errors: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)
    in_flight: set[object] = field(default_factory=set)
    last_change: float = field(default_factory=time.monotonic)

    def started(self, request: object) -> None:
        self.in_flight.add(request)
        self.last_change = time.monotonic()

    def ended(self, request: object) -> None:
        self.in_flight.discard(request)
        self.last_change = time.monotonic()


# how long no request may be in flight before a page counts as loaded (Playwright's "networkidle" waits 500 ms)
QUIET_S = 0.15


def settle(page, timeout_s: float = 30.0) -> None:
    """Wait for the load event, then until no request has been in flight for QUIET_S.

    Every request the page makes after loading (the search index, fonts) has then ended, so its
    errors are seen; Playwright's ``networkidle`` would do the same with a fixed 500 ms of quiet.
    """
    page.wait_for_load_state("load")
    deadline = time.monotonic() + timeout_s
    watched: Watched = page.watched
    while watched.in_flight or time.monotonic() - watched.last_change < QUIET_S:
        if time.monotonic() > deadline:
            raise TimeoutError(f"requests still in flight after {timeout_s} s: {watched.in_flight}")
        page.wait_for_timeout(25)  # lets Playwright deliver the request events


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


# Scrolls the page to its end and back, a screen at a time, as a reader would: the browser lays out
# each block as it nears the screen (content-visibility in extra.css, code blocks mounted lazily), so
# that every block has been laid out once and keeps its size, and what axe reads (positions, overflow,
# the colours behind the text) is what the reader sees; blocks no longer change size under axe's feet.
# Every wait is bounded: a frame that never comes (a page the browser stops painting) or an animation that
# never ends (an infinite one, or one cancelled before it finishes) would otherwise hang the test for good.
READ_THROUGH = """async () => {
    const frame = () => new Promise(resolve => {
        requestAnimationFrame(() => requestAnimationFrame(resolve));
        setTimeout(resolve, 250);
    });
    for (let y = 0; y < document.documentElement.scrollHeight; y += innerHeight) { scrollTo(0, y); await frame(); }
    scrollTo(0, 0);
    await frame();
    const ending = document.getAnimations()  // the header's title
        .filter(animation => animation.effect && animation.effect.getComputedTiming().endTime !== Infinity)
        .map(animation => animation.finished.catch(() => null));
    await Promise.race([Promise.all(ending), new Promise(resolve => setTimeout(resolve, 3000))]);
}"""


def axe_violations(page, context: str = "document") -> list[str]:
    """The serious or critical violations axe-core finds in ``context``: ``document``, or a quoted selector,
    once the page has been read through (READ_THROUGH).

    axe-core is loaded through the DevTools protocol: the site's Content-Security-Policy refuses an
    added ``<script>``, and the page itself must not be changed to let it in.
    """
    page.evaluate(READ_THROUGH)
    if not page.evaluate("typeof axe !== 'undefined'"):
        session = page.context.new_cdp_session(page)
        session.send("Runtime.evaluate", {"expression": AXE.read_text(encoding="utf-8")})
        session.detach()
    found = page.evaluate(
        f"""async () => (await axe.run({context}, {{resultTypes: ['violations']}})).violations
               .map(v => ({{id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}}))"""
    )
    return [f"{v['impact']} {v['id']}: {v['nodes']}" for v in found if v["impact"] in BLOCKING]


def visit(page, url: str) -> None:
    """Open ``url`` and wait until it has loaded and made its last request."""
    page.goto(url, wait_until="load")
    settle(page)


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
    page.on("request", watched.started)
    page.on("requestfinished", watched.ended)
    page.on("requestfailed", watched.ended)
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
