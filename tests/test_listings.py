"""Every page's listings, pasted into one file in page order, run where attn_examples cannot be imported.

For each page of each language, the ``python`` blocks (snippets included: ``attn_site.listings``), as
the page's download button serves them, are written to a file outside the repository and run in a
new interpreter in which ``import attn_examples`` fails, as in a reader's project that has torch and
numpy alone; the examples in the listings' docstrings then run there too, so the pasted code computes
what the page says. A language whose listings equal another's (they must:
tests/site_checks/test_sources.py) reuses that run's outcome.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from attn_site.i18n import SOURCE
from attn_site.listings import code_file, page_code, page_title

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p for p in (ROOT / "docs").glob("*.*.md") if page_code(ROOT, p))

# run in the new interpreter: attn_examples cannot be imported, the listing runs as a module of its
# own (Triton reads a kernel's source from its file), then the examples of its docstrings
RUNNER = """
import doctest, importlib.util, sys
sys.modules["attn_examples"] = None
spec = importlib.util.spec_from_file_location("listing", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["listing"] = module
spec.loader.exec_module(module)
failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
print(f"{attempted} docstring examples, {failed} failed")
sys.exit(1 if failed else 0)
"""

_outcomes: dict[str, tuple[int, str]] = {}


def run_alone(code: str, folder: Path) -> tuple[int, str]:
    """Exit status and output of ``code`` run alone (cached by its text: languages share their listings)."""
    key = hashlib.sha256(code.encode()).hexdigest()
    if key not in _outcomes:
        path = folder / "listing.py"
        path.write_text(code, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-I", "-c", RUNNER, str(path)],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        _outcomes[key] = (done.returncode, done.stdout + done.stderr)
    return _outcomes[key]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_listings_run_alone(page: Path, tmp_path: Path) -> None:
    english = page.with_name(page.name.split(".", 1)[0] + f".{SOURCE}.md")
    code = code_file(ROOT, page, page_title(english))  # what the page's download button serves
    status, output = run_alone(code, tmp_path)
    assert status == 0, f"{page.name}: its listings pasted into one file fail alone:\n{output[-4000:]}"


def test_the_runner_fails_on_an_import_of_the_package(tmp_path: Path) -> None:
    status, output = run_alone("from attn_examples.simple import softmax\n", tmp_path)
    assert status != 0 and "ModuleNotFoundError" in output


def test_the_runner_fails_on_a_wrong_docstring_example(tmp_path: Path) -> None:
    status, output = run_alone('def one():\n    """\n    >>> one()\n    2\n    """\n    return 1\n', tmp_path)
    assert status != 0 and "1 failed" in output
