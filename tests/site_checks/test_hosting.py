"""The hosting configurations build the site with the Makefile, as the README says."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from mkdocs.config import load_config

from tests.site_checks.layout import ROOT


def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))


def test_github_pages_workflow_tests_then_publishes_site() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/pages.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["build"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert any(r.startswith("make test") for r in runs) and "test" in _make_targets()
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "site"
    assert workflow["jobs"]["deploy"]["needs"] == "build"
    assert {"SITE_URL", "REPO_URL", "EDIT_URI"} <= set(workflow["jobs"]["build"]["env"])


def test_read_the_docs_builds_with_make_and_serves_site() -> None:
    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text(encoding="utf-8"))
    commands = config["build"]["commands"]
    assert commands[0].startswith('REPO_URL="${READTHEDOCS_GIT_CLONE_URL%.git}" EDIT_URI=')
    assert " make build" in commands[0]
    assert "build" in _make_targets()
    assert 'cp -r site "$READTHEDOCS_OUTPUT/html"' in commands[1]
    assert "READTHEDOCS_CANONICAL_URL" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_the_repository_set_by_the_hosts_gives_every_page_an_edit_link(monkeypatch) -> None:
    monkeypatch.setenv("REPO_URL", "https://github.com/example/attn-examples")
    monkeypatch.setenv("EDIT_URI", "edit/main/docs/")
    config = load_config(str(ROOT / "mkdocs.yml"))
    assert config.repo_url == "https://github.com/example/attn-examples"
    assert "content.action.edit" in config.theme["features"]
    # MkDocs joins repo_url, edit_uri and the page's source path, under docs/
    assert config.edit_uri == "edit/main/docs/" and Path(config.docs_dir) == ROOT / "docs"
