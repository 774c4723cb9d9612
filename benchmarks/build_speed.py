"""Time the site's builds: cold for all five languages and for English alone, then warm rebuilds.

"Cold" means no site/ and no notebook caches (.cache/), as on a fresh clone after set-up; notebooks
are executed once in both cold builds. "Warm" reuses the caches: the rebuild after one page is
edited, for all five languages and for English alone (BUILD_TRANSLATIONS=false). Each build is a new
process, so its time includes starting Python and loading the plugins (about 2 s here), which
`mkdocs serve` pays only once.
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
    shutil.rmtree(ROOT / ".cache" / "notebook-html", ignore_errors=True)
    return build("--strict", "--clean", translations=translations)


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
    cold_en = cold(translations=False)
    cold_all = cold(translations=True)
    warm_all = edited_rebuild(translations=True)
    warm_en = edited_rebuild(translations=False)
    build("--strict", "--clean")  # leave a complete, clean site behind
    print(f"cold build, English alone          {cold_en:6.1f} s")
    print(f"cold build, five languages         {cold_all:6.1f} s   ratio {cold_all / cold_en:.2f} (target ≤ 1.5)")
    print(f"rebuild after one edit, five       {warm_all:6.1f} s   (target ≤ 5)")
    print(f"rebuild after one edit, English    {warm_en:6.1f} s")


if __name__ == "__main__":
    main()
