"""Time the site's builds: cold for all five languages and for English alone, then warm rebuilds.

"Cold" means no site/ and no notebook cache (.cache/), as on a fresh clone after set-up; notebooks
are executed once in both cold builds. "Warm" reuses the cache: a full rebuild, and the rebuild
`mkdocs serve --dirty` does after one page is edited (only changed files are rebuilt).
Usage: .venv/bin/python benchmarks/build_speed.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).parent / "mkdocs"
EDITED = ROOT / "docs" / "causal-attention.it.md"


def build(*flags: str, translations: bool = True) -> float:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "BUILD_TRANSLATIONS": "true" if translations else "false"}
    started = time.perf_counter()
    subprocess.run([str(MKDOCS), "build", "--quiet", *flags], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def cold(translations: bool) -> float:
    shutil.rmtree(ROOT / "site", ignore_errors=True)
    shutil.rmtree(ROOT / ".cache" / "notebook-outputs", ignore_errors=True)
    shutil.rmtree(ROOT / ".cache" / "executed-notebooks", ignore_errors=True)
    return build("--strict", "--clean", translations=translations)


def main() -> None:
    cold_en = cold(translations=False)
    cold_all = cold(translations=True)
    warm_all = build("--strict", "--clean")
    original = EDITED.read_text(encoding="utf-8")
    try:
        EDITED.write_text(original + "\n", encoding="utf-8")
        warm_dirty = build("--dirty")
    finally:
        EDITED.write_text(original, encoding="utf-8")
    build("--strict", "--clean")  # leave a complete, clean site behind
    print(f"cold build, English alone     {cold_en:6.1f} s")
    print(f"cold build, five languages    {cold_all:6.1f} s   ratio {cold_all / cold_en:.2f} (target ≤ 1.5)")
    print(f"warm build, five languages    {warm_all:6.1f} s")
    print(f"warm rebuild after one edit   {warm_dirty:6.1f} s   (mkdocs build --dirty; target ≤ 5)")


if __name__ == "__main__":
    main()
