from __future__ import annotations

import json
from pathlib import Path

import pytest

from attn_site import i18n


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "page.en.md").write_text("---\ndescription: x\n---\n\n# Page { #page }\n", encoding="utf-8")
    (tmp_path / "page.it.md").write_text("---\ndescription: y\n---\n\n# Pagina { #page }\n", encoding="utf-8")
    (tmp_path / "plain.en.md").write_text("# Plain\n", encoding="utf-8")
    (tmp_path / "plain.zh.md").write_text("# 无前言\n", encoding="utf-8")
    notebook = {"cells": [], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    for lang in ("en", "ko"):
        (tmp_path / "notebooks" / f"lab.{lang}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    return tmp_path


def _states(docs: Path) -> dict[tuple[str, str, str], str]:
    return {(t.stem, t.suffix, t.lang): t.state for t in i18n.status(docs)}


def test_unstamped_translations_are_untranslated_and_absent_ones_missing(docs: Path) -> None:
    states = _states(docs)
    assert states[("page", ".md", "it")] == "untranslated"
    assert states[("page", ".md", "vi")] == "missing"
    assert states[("lab", ".ipynb", "ko")] == "untranslated"
    assert states[("lab", ".ipynb", "zh")] == "missing"
    assert len(states) == 3 * len(i18n.TRANSLATIONS)


def test_stamp_makes_current_until_the_english_page_changes(docs: Path) -> None:
    assert i18n.main(["--docs", str(docs), "stamp", "it", "page"]) == 0
    assert i18n.main(["--docs", str(docs), "stamp", "zh", "plain"]) == 0
    assert i18n.main(["--docs", str(docs), "stamp", "ko", "notebooks/lab"]) == 0
    states = _states(docs)
    assert (
        states[("page", ".md", "it")] == states[("plain", ".md", "zh")] == states[("lab", ".ipynb", "ko")] == "current"
    )
    # the front matter keeps its other keys; a page without front matter gets one
    assert (docs / "page.it.md").read_text(encoding="utf-8").startswith("---\ndescription: y\ntranslated_from: ")
    assert (docs / "plain.zh.md").read_text(encoding="utf-8").startswith("---\ntranslated_from: ")
    assert json.loads((docs / "notebooks/lab.ko.ipynb").read_text())["metadata"]["kernelspec"] == {"name": "python3"}
    # stamping twice replaces the hash rather than adding a second one
    i18n.main(["--docs", str(docs), "stamp", "it", "page"])
    restamped = (docs / "page.it.md").read_text(encoding="utf-8")
    assert restamped.count("translated_from") == 1
    assert restamped.startswith("---\ndescription: y\ntranslated_from: ") and "\n---\n\n# Pagina" in restamped
    assert _states(docs)[("page", ".md", "it")] == "current"
    (docs / "page.en.md").write_text("---\ndescription: x\n---\n\n# Page, revised { #page }\n", encoding="utf-8")
    assert _states(docs)[("page", ".md", "it")] == "outdated"


def test_status_command_prints_every_page_and_the_counts(docs: Path, capsys) -> None:
    assert i18n.main(["--docs", str(docs), "status"]) == 1  # not every translation is current
    out = capsys.readouterr().out
    assert "page " in out and "notebooks/lab " in out and "plain " in out
    assert out.strip().splitlines()[-1] == "0 current, 0 outdated, 3 untranslated, 9 missing"


def test_status_exits_zero_only_when_every_translation_is_current(tmp_path: Path) -> None:
    (tmp_path / "page.en.md").write_text("# Page\n", encoding="utf-8")
    for lang in i18n.TRANSLATIONS:
        (tmp_path / f"page.{lang}.md").write_text("# Page\n", encoding="utf-8")
        i18n.main(["--docs", str(tmp_path), "stamp", lang, "page"])
    assert i18n.main(["--docs", str(tmp_path), "status"]) == 0
    (tmp_path / "page.en.md").write_text("# Page, revised\n", encoding="utf-8")
    assert i18n.main(["--docs", str(tmp_path), "status"]) == 1


def test_status_of_a_folder_without_pages_is_an_error(tmp_path: Path, capsys) -> None:
    assert i18n.main(["--docs", str(tmp_path), "status"]) == 2
    assert "no English page under" in capsys.readouterr().err


def test_stamping_a_page_leaves_its_notebook_alone(docs: Path) -> None:
    (docs / "notebooks" / "page.en.ipynb").write_text((docs / "notebooks" / "lab.en.ipynb").read_text())
    (docs / "notebooks" / "page.it.ipynb").write_text((docs / "notebooks" / "lab.en.ipynb").read_text())
    assert i18n.main(["--docs", str(docs), "stamp", "it", "page"]) == 0
    assert _states(docs)[("page", ".md", "it")] == "current"
    assert _states(docs)[("page", ".ipynb", "it")] == "untranslated"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["stamp", "it", "nope"], "no English page or notebook named 'nope'"),
        (["stamp", "ko", "lab"], "no English page or notebook named 'lab' under"),
        (["stamp", "ko", "lab"], "(its notebook is named notebooks/lab)"),
        (["stamp", "it", "notebooks/page"], "no English page or notebook named 'notebooks/page'"),
        (["stamp", "vi", "page"], "does not exist: translate it first"),
        (["stamp", "fr", "page"], "invalid choice: 'fr'"),
    ],
)
def test_stamp_rejects_what_it_cannot_do(docs: Path, argv, message, capsys) -> None:
    with pytest.raises(SystemExit):
        i18n.main(["--docs", str(docs), *argv])
    assert message in capsys.readouterr().err


BROKEN = [
    ("page.it.md", b"\xef\xbb\xbf---\ndescription: y\n---\n\n# Pagina\n", "starts with a byte-order mark"),
    ("page.it.md", "---\ndescription: caffè\n---\n".encode("latin-1"), "is not UTF-8"),
    ("page.it.md", b"---\ndescription: y\n\n# Pagina\n", "has no closing '---' line"),
    ("page.it.md", b"---\ndescription: [y\n---\n\n# Pagina\n", "the front matter is not valid YAML"),
    ("page.it.md", b"---\n- a list\n---\n\n# Pagina\n", "must be a YAML mapping"),
    ("notebooks/lab.ko.ipynb", b'{"cells": [], "metadata": {', "invalid JSON at line 1"),
    ("notebooks/lab.ko.ipynb", b"[1, 2]", "expected a JSON object with a list of cells"),
]


@pytest.mark.parametrize("name, content, message", BROKEN, ids=[m for _, _, m in BROKEN])
def test_a_file_that_cannot_be_stamped_is_named_and_nothing_is_written(
    docs: Path, name: str, content: bytes, message: str, capsys
) -> None:
    (docs / name).write_bytes(content)
    target, lang = ("notebooks/lab", "ko") if name.endswith(".ipynb") else ("page", "it")
    (docs / "other.en.md").write_text("# Other\n", encoding="utf-8")
    (docs / f"other.{lang}.md").write_text("# Altro\n", encoding="utf-8")
    before = {path: path.read_bytes() for path in docs.rglob("*.*")}
    with pytest.raises(SystemExit):  # the first page given could be stamped: it must not be, either
        i18n.main(["--docs", str(docs), "stamp", lang, "other", target])
    err = capsys.readouterr().err
    assert message in err and name.split("/")[-1] in err
    assert {path: path.read_bytes() for path in docs.rglob("*.*")} == before


def test_every_translation_of_the_guide_is_current_or_reported() -> None:
    """Outdated translations are allowed (the site shows a banner), missing ones are not."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    assert not [t for t in i18n.status(docs) if t.state == "missing"]
