"""Time the site's builds: cold for all five languages and for English alone, then warm rebuilds.

"Cold" means no site/ and no caches (.cache/), as on a fresh clone after set-up; notebooks are
executed and figures drawn once in both cold builds. "Warm" is what a writer waits for: `mkdocs
serve` running, one page edited, the time until the site is rebuilt (MkDocs logs "Documentation
built in N seconds"), for all five languages and for English alone (BUILD_TRANSLATIONS=false);
each is measured three times, the edit alternating with its undo, and the median reported. The
same edit with a new `mkdocs build` process is shown too: it adds starting Python and loading the
plugins.
Usage: .venv/bin/python benchmarks/build_speed.py
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).parent / "mkdocs"
EDITED = ROOT / "docs" / "causal-attention.it.md"


def build(*flags: str, translations: bool = True) -> float:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "BUILD_TRANSLATIONS": "true" if translations else "false"}
    started = time.perf_counter()
    subprocess.run(
        [str(MKDOCS), "build", "--quiet", *flags],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def cold(translations: bool) -> float:
    shutil.rmtree(ROOT / "site", ignore_errors=True)
    for cache in (
        "notebook-outputs",
        "executed-notebooks",
        "notebook-html",
        "notebook-css",
        "figures",
        "jinja",
        "glossary-links",
        "katex",
    ):
        shutil.rmtree(ROOT / ".cache" / cache, ignore_errors=True)
    for path in (ROOT / ".cache").glob("render.sqlite*"):
        path.unlink()
    return build("--strict", "--clean", translations=translations)


def _built(log: Path, count: int, timeout_s: float = 120) -> list[float]:
    """Wait until the serve log reports ``count`` builds; their times."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        times = [float(t) for t in re.findall(r"Documentation built in ([\d.]+) seconds", log.read_text())]
        if len(times) >= count:
            return times
        time.sleep(0.2)
    raise TimeoutError(f"mkdocs serve did not report {count} builds in {timeout_s} s:\n{log.read_text()[-2000:]}")


def _free_port() -> int:
    """A port nothing listens on now (the previous server's may still be closing)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_rebuild(translations: bool, edits: int = 3) -> float:
    """Median time `mkdocs serve` takes to rebuild after one page is edited (restored afterwards)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "BUILD_TRANSLATIONS": "true" if translations else "false"}
    original = EDITED.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                [str(MKDOCS), "serve", "--dev-addr", f"127.0.0.1:{_free_port()}", "--livereload"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _built(log, 1, timeout_s=600)
            deadline = time.monotonic() + 120
            while "Serving on" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)  # the file watcher starts with the server, after the first build
            time.sleep(2)
            for n in range(edits):
                EDITED.write_text(original + "\n" if n % 2 == 0 else original, encoding="utf-8")
                _built(log, n + 2)
                time.sleep(2)
            times = _built(log, edits + 1)[1:]
        finally:
            EDITED.write_text(original, encoding="utf-8")
            server.terminate()
            server.wait()
    return statistics.median(times)


def edited_rebuild(translations: bool) -> float:
    """A warm build after appending a blank line to one translated page (restored afterwards)."""
    build(translations=translations)  # warm the caches for this set of languages
    original = EDITED.read_text(encoding="utf-8")
    try:
        EDITED.write_text(original + "\n", encoding="utf-8")
        return build(translations=translations)
    finally:
        EDITED.write_text(original, encoding="utf-8")


def main() -> None:
    """Each result is printed as soon as it is measured."""
    cold_en = cold(translations=False)
    print(f"cold build, English alone                 {cold_en:6.1f} s", flush=True)
    cold_all = cold(translations=True)
    ratio = f"ratio {cold_all / cold_en:.2f} (target ≤ 1.5)"
    print(f"cold build, five languages                {cold_all:6.1f} s   {ratio}", flush=True)
    serve_all = serve_rebuild(translations=True)
    print(f"mkdocs serve, rebuild after one edit, five     {serve_all:6.1f} s   (target ≤ 5)", flush=True)
    serve_en = serve_rebuild(translations=False)
    print(f"mkdocs serve, rebuild after one edit, English  {serve_en:6.1f} s", flush=True)
    process_all = edited_rebuild(translations=True)
    print(f"new mkdocs build process after one edit, five  {process_all:6.1f} s", flush=True)
    build("--strict", "--clean")  # leave a complete, clean site behind


if __name__ == "__main__":
    main()
