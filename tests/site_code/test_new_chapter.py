"""A chapter in one command: ``python -m attn_site new-chapter`` (attn_site.new_chapter).

In a scratch copy of the guide (tests/site_code/scratch.py), the command writes a chapter; the copy
then builds with ``--strict`` in all five languages, and the new module's doctests and tests, its
page's examples and the site checks that would miss any derived piece (the home page's map, the
figure in every language, the nav's translations, the translation status, the agreement table)
pass there. The command touches the chapter's files and the nav alone, and refuses to write over
an existing chapter or module.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from attn_site.i18n import LANGUAGES
from attn_site.new_chapter import Chapter, nav_pages, with_chapter_in_nav
from tests.site_checks.layout import ROOT
from tests.site_code.scratch import build, copy_guide, run

SLUG, MODULE, TITLE = "softmax-temperature", "temperature", "Softmax temperature"
CHAPTER_FILES = {
    f"src/attn_examples/{MODULE}.py",
    f"tests/test_{MODULE}.py",
    *(f"docs/{SLUG}.{lang}.md" for lang in LANGUAGES),
    *(f"docs/notebooks/{SLUG}.{lang}.ipynb" for lang in LANGUAGES),
    "mkdocs.yml",
}
# the checks run in the copy: everything of the new chapter, and the site checks of the derived pieces
CHECKS = [
    f"src/attn_examples/{MODULE}.py",
    f"tests/test_{MODULE}.py",
    f"docs/{SLUG}.en.md",
    "tests/test_listings.py",  # its listings run alone, in every language
    "tests/site_checks/test_sources.py",
    "tests/site_checks/test_tables.py",
    "tests/site_checks/test_translation_status.py",
    "tests/site_checks/test_figures_in_site.py",
    "tests/site_checks/test_built_site.py",
]
SELECTED = f"{MODULE} or {SLUG} or test_sources or test_tables or test_translation_status"


def _files(guide: Path) -> dict[str, str]:
    """Every source of ``guide`` (what a commit would hold) and a hash of its bytes."""
    skipped = {".cache", "site", "node_modules", "__pycache__"}
    return {
        path.relative_to(guide).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in guide.rglob("*")
        if path.is_file() and not skipped & set(path.relative_to(guide).parts)
    }


# what the command must refuse, and the message that says why
REFUSED = [
    (SLUG, "other", f"the chapter {SLUG!r} or its module 'other' exists already: docs/notebooks/{SLUG}.en.ipynb"),
    ("another-chapter", MODULE, f"exists already: src/attn_examples/{MODULE}.py, tests/test_{MODULE}.py"),
    ("Bad_Slug", "bad", "the slug must be lowercase words joined by hyphens"),
    ("fine-slug", "class", "the module must be a lowercase Python name"),
]


@pytest.mark.site
def test_a_chapter_in_one_command(tmp_path: Path) -> None:
    """One test, so that one build serves every check (a fixture shared by several tests would be
    built once per xdist worker that runs one of them)."""
    copy = copy_guide(tmp_path, also=("tests", "conftest.py", "pyproject.toml"))
    before = _files(copy)
    result = run(copy, "-m", "attn_site", "new-chapter", SLUG, "--module", MODULE, "--title", TITLE)
    assert result.returncode == 0, result.stderr

    # the chapter's files and the nav, nothing else
    after = _files(copy)
    changed = {name for name, digest in after.items() if before.get(name) != digest} | (before.keys() - after.keys())
    assert changed == CHAPTER_FILES
    lines = (copy / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
    added = [line for line in lines if TITLE.lower() in line.lower()]
    assert len(added) == 2 + 2 * (len(LANGUAGES) - 1)  # the page and its lab, and both titles per translation

    # it refuses to write over what exists, and names it can't use
    for slug, module, message in REFUSED:
        refused = run(copy, "-m", "attn_site", "new-chapter", slug, "--module", module)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
    assert _files(copy) == after

    # the strict build in five languages, then the new code's checks and the site checks, in the copy
    build(copy, translations=True)
    lint = run(copy, "-m", "ruff", "check", "--quiet", *CHECKS[:2])
    assert lint.returncode == 0, lint.stdout
    formatted = run(copy, "-m", "ruff", "format", "--check", "--quiet", *CHECKS[:2])
    assert formatted.returncode == 0, formatted.stdout
    checks = run(copy, "-m", "pytest", "-q", "-p", "no:randomly", *CHECKS, "-k", SELECTED)
    assert checks.returncode == 0, checks.stdout[-5000:] + checks.stderr[-2000:]
    assert " failed" not in checks.stdout and " passed" in checks.stdout


def _labs(mkdocs_yml: str) -> list[str]:
    return [line.strip() for line in mkdocs_yml.splitlines() if line.strip().startswith("- ") and "notebooks/" in line]


def test_the_nav_gets_the_page_after_its_predecessor_and_the_lab_among_the_labs() -> None:
    mkdocs_yml = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    chapter = Chapter(SLUG, MODULE, TITLE)
    pages = nav_pages(mkdocs_yml)
    after = pages[2]  # a chapter with a lab notebook
    edited = with_chapter_in_nav(mkdocs_yml, chapter, after)
    assert nav_pages(edited) == [*pages[:3], SLUG, *pages[3:]]
    assert _labs(edited)[1] == f'- "Lab: softmax temperature": notebooks/{SLUG}.ipynb'
    # after a page without a lab (the home page), the new lab comes first
    first = with_chapter_in_nav(mkdocs_yml, chapter, "index")
    assert nav_pages(first)[1] == SLUG
    assert _labs(first)[0].endswith(f"notebooks/{SLUG}.ipynb")
    with pytest.raises(ValueError, match="--after must name a page of the nav"):
        with_chapter_in_nav(mkdocs_yml, chapter, "no-such-page")
