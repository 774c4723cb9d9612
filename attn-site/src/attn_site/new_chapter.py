"""A new chapter in one command: ``python -m attn_site new-chapter SLUG --module NAME``.

A chapter is its module, its test file, its page and its lab notebook in every language, and its
entries in the nav of ``mkdocs.yml``. Everything else the site shows of it is derived: its row in
the home page's map of the guide (the nav and the page's ``description``), its figures (the
module's ``FIGURES``, their words in the pages' front matter), its rows in the agreement table
(the module's ``AGREEMENT``) and its translation status. This command writes, from the skeleton in
``attn_site/skeleton/``:

- ``src/attn_examples/<module>.py``: a small function that checks its inputs, with doctests, the
  sections the page includes, and the chapter's ``CHAPTER``, ``AGREEMENT`` and ``FIGURES``;
- ``tests/test_<module>.py``;
- ``docs/<slug>.<lang>.md`` and ``docs/notebooks/<slug>.<lang>.ipynb`` for every language: the
  translations are the English text, never stamped, so the site shows them as untranslated
  (:mod:`attn_site.i18n`) until a translator translates and stamps them;
- in ``mkdocs.yml``: the page after ``--after``'s page in the nav, its lab notebook among the lab
  notebooks, and both titles under every language's ``nav_translations`` (the English title, marked
  ``# to translate``).

It refuses a slug that is not lowercase words joined by hyphens, a module name that is not a
lowercase Python name, and a page, notebook, module or test file that exists already.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from attn_site.i18n import LANGUAGES, SOURCE

SKELETON = Path(__file__).with_name("skeleton")
_SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_MODULE = re.compile(r"[a-z][a-z0-9_]*")
_TITLE = re.compile(r"[^\x00-\x1f\"\\{}\[\]|#]+")
_NAV_ENTRY = re.compile(r"^(?P<indent> *)- (?P<title>.+?): (?P<target>\S+\.(?:md|ipynb))[ \t]*$")
_MAPPING_KEY = re.compile(r"^(?P<indent> *)(?P<key>\"[^\"]*\"|[^\s\"#][^:#]*?):")


@dataclass(frozen=True)
class Chapter:
    """A chapter to write: its page's name, its module's name and its title in the nav.

    >>> Chapter("kv-cache", "kv_cache", "KV cache").lab_title, Chapter("gqa", "gqa", "Grouped queries").lab_title
    ('Lab: KV cache', 'Lab: grouped queries')
    """

    slug: str
    module: str
    title: str

    @property
    def lab_title(self) -> str:
        """The nav's title of the lab notebook, as the other chapters' ("Lab: causal attention")."""
        keep = len(self.title) > 1 and self.title[1].isupper()  # an acronym keeps its capital
        return "Lab: " + (self.title if keep else self.title[0].lower() + self.title[1:])

    def render(self, template: str) -> str:
        """``template`` with ``{{slug}}``, ``{{module}}``, ``{{title}}`` and ``{{lab_title}}`` filled in."""
        for name in ("slug", "module", "title", "lab_title"):
            template = template.replace("{{" + name + "}}", getattr(self, name))
        return template


def default_title(slug: str) -> str:
    """``"kv-cache"`` → ``"Kv cache"``: the title when none is given.

    >>> default_title("sparse-attention")
    'Sparse attention'
    """
    return slug.replace("-", " ").capitalize()


def check_names(chapter: Chapter) -> None:
    """Refuse a slug, module name or title the site could not use, with a message that says why.

    >>> check_names(Chapter("Sparse", "sparse", "Sparse"))
    Traceback (most recent call last):
    ...
    ValueError: the slug must be lowercase words joined by hyphens (e.g. sparse-attention), got 'Sparse'
    """
    if not _SLUG.fullmatch(chapter.slug):
        raise ValueError(
            f"the slug must be lowercase words joined by hyphens (e.g. sparse-attention), got {chapter.slug!r}"
        )
    if not _MODULE.fullmatch(chapter.module) or keyword.iskeyword(chapter.module):
        raise ValueError(f"the module must be a lowercase Python name (e.g. sparse), got {chapter.module!r}")
    if not _TITLE.fullmatch(chapter.title) or chapter.title != chapter.title.strip():
        raise ValueError(f'the title must be one line without " \\ {{ }} [ ] | #, got {chapter.title!r}')


def _existing(root: Path, chapter: Chapter, nav_pages: list[str]) -> list[str]:
    """What of the chapter exists already, as paths relative to ``root`` (or the nav's entry)."""
    found = [
        *(root / "docs").glob(f"{chapter.slug}.*.md"),
        *(root / "docs" / "notebooks").glob(f"{chapter.slug}.*.ipynb"),
        root / "src" / "attn_examples" / f"{chapter.module}.py",
        root / "tests" / f"test_{chapter.module}.py",
    ]
    existing = sorted(path.relative_to(root).as_posix() for path in found if path.exists())
    if chapter.slug in nav_pages:
        existing.append(f"the nav's page {chapter.slug}.md")
    return existing


def _yaml_text(text: str) -> str:
    """``text`` as a YAML scalar: plain when YAML reads it back unchanged, else double-quoted.

    >>> _yaml_text("Sparse attention"), _yaml_text("Lab: sparse attention")
    ('Sparse attention', '"Lab: sparse attention"')
    """
    try:
        plain = yaml.safe_load(f"key: {text}") == {"key": text}
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def _nav_block(lines: list[str]) -> range:
    """The indices of the lines of the top-level ``nav:`` of mkdocs.yml."""
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "nav:"), None)
    if start is None:
        raise ValueError("mkdocs.yml has no top-level nav:")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()), len(lines))
    return range(start + 1, end)


@dataclass(frozen=True)
class _NavEntry:
    line: int
    indent: str
    title: str
    target: str


def _nav_entries(lines: list[str]) -> list[_NavEntry]:
    """Each page of the nav, in order."""
    entries = []
    for i in _nav_block(lines):
        match = _NAV_ENTRY.match(lines[i])
        if match:
            entries.append(_NavEntry(i, match["indent"], str(yaml.safe_load(match["title"])), match["target"]))
    return entries


def nav_pages(mkdocs_yml: str) -> list[str]:
    """The names of the Markdown pages of the nav, in order.

    >>> nav_pages("site_name: x\\nnav:\\n  - Home: index.md\\n  - Lab:\\n      - A: notebooks/a.ipynb\\n")
    ['index']
    """
    return [e.target.removesuffix(".md") for e in _nav_entries(mkdocs_yml.splitlines()) if "/" not in e.target]


def with_chapter_in_nav(mkdocs_yml: str, chapter: Chapter, after: str) -> str:
    """``mkdocs_yml`` with the chapter's page after ``after``'s, its lab notebook among the labs, and both
    titles in every ``nav_translations`` (the English title, to be translated)."""
    lines = mkdocs_yml.splitlines()
    entries = _nav_entries(lines)
    pages = {e.target.removesuffix(".md"): e for e in entries if "/" not in e.target}
    labs = {e.target.removeprefix("notebooks/").removesuffix(".ipynb"): e for e in entries if "/" in e.target}
    if after not in pages:
        raise ValueError(f"--after must name a page of the nav, one of {list(pages)}; got {after!r}")
    if not labs:
        raise ValueError("the nav has no lab notebooks (notebooks/<chapter>.ipynb) to put the new one beside")
    page = pages[after]
    inserts = {page.line: [f"{page.indent}- {_yaml_text(chapter.title)}: {chapter.slug}.md"]}
    # the lab after the lab of the last chapter up to ``after``, else first among the labs
    earlier = [labs[slug] for slug in pages if pages[slug].line <= page.line and slug in labs]
    first_lab = min(labs.values(), key=lambda e: e.line)
    lab_line = earlier[-1].line if earlier else first_lab.line - 1
    inserts.setdefault(lab_line, []).append(
        f"{first_lab.indent}- {_yaml_text(chapter.lab_title)}: notebooks/{chapter.slug}.ipynb"
    )
    after_titles = [page.title] + ([labs[after].title] if after in labs else [])
    for i, line in enumerate(lines):
        if line.strip() != "nav_translations:":
            continue
        block = _indented_block(lines, i)
        if not block:
            raise ValueError(f"mkdocs.yml line {i + 1}: nav_translations is empty")
        key_indent = " " * _depth(lines[block[0]])
        keys = {_key(lines[j]): j for j in block}
        follows = [keys[title] for title in after_titles if title in keys]
        inserts.setdefault(max(follows, default=block[-1]), []).extend(
            f"{key_indent}{_yaml_text(title)}: {_yaml_text(title)}  # to translate"
            for title in (chapter.title, chapter.lab_title)
        )
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        out.extend(inserts.get(i, []))
    return "\n".join(out) + "\n"


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip())


def _indented_block(lines: list[str], i: int) -> list[int]:
    """The indices of the non-blank lines indented under line ``i``."""
    block = []
    for j in range(i + 1, len(lines)):
        if lines[j].strip():
            if _depth(lines[j]) <= _depth(lines[i]):
                break
            block.append(j)
    return block


def _key(line: str) -> str | None:
    match = _MAPPING_KEY.match(line)
    return str(yaml.safe_load(match["key"])) if match else None


def _read_config(text: str) -> dict:
    """mkdocs.yml as data, its tags (``!ENV``, ``!!python/…``) read as None."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    return yaml.load(text, Loader=Loader)


def _check_nav(mkdocs_yml: str, chapter: Chapter) -> None:
    """Fail unless ``mkdocs_yml`` reads back with the chapter in the nav and in every nav_translations."""
    config = _read_config(mkdocs_yml)
    flat = []  # the nav's entries, those of its sections included
    for item in config["nav"]:
        children = next(iter(item.values()))
        flat.extend(children if isinstance(children, list) else [item])
    wanted = [{chapter.title: f"{chapter.slug}.md"}, {chapter.lab_title: f"notebooks/{chapter.slug}.ipynb"}]
    translations = [
        language.get("nav_translations") or {}
        for plugin in config["plugins"]
        if isinstance(plugin, dict) and "i18n" in plugin
        for language in plugin["i18n"]["languages"]
        if not language.get("default")
    ]
    if any(entry not in flat for entry in wanted) or not all(
        chapter.title in names and chapter.lab_title in names for names in translations
    ):
        raise ValueError("could not place the chapter in mkdocs.yml's nav and nav_translations: add it by hand")


def planned_files(root: Path, chapter: Chapter) -> dict[Path, str]:
    """Every file of the chapter and its content, from the skeleton."""
    page = chapter.render((SKELETON / "page.md.tmpl").read_text(encoding="utf-8"))
    notebook = json.loads((SKELETON / "notebook.ipynb.tmpl").read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        cell["source"] = [chapter.render(line) for line in cell["source"]]
    notebook_text = json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"
    files = {
        root / "src" / "attn_examples" / f"{chapter.module}.py": chapter.render(
            (SKELETON / "module.py.tmpl").read_text(encoding="utf-8")
        ),
        root / "tests" / f"test_{chapter.module}.py": chapter.render(
            (SKELETON / "test_module.py.tmpl").read_text(encoding="utf-8")
        ),
    }
    for lang in LANGUAGES:  # the translations start as the English text, unstamped: untranslated
        files[root / "docs" / f"{chapter.slug}.{lang}.md"] = page
        files[root / "docs" / "notebooks" / f"{chapter.slug}.{lang}.ipynb"] = notebook_text
    return files


def default_after(root: Path, pages: list[str]) -> str:
    """The last page of the nav that has a lab notebook: the last chapter so far."""
    with_lab = [slug for slug in pages if (root / "docs" / "notebooks" / f"{slug}.{SOURCE}.ipynb").is_file()]
    if not with_lab:
        raise ValueError("no chapter with a lab notebook in the nav: name the page to follow with --after")
    return with_lab[-1]


def write_chapter(root: Path, slug: str, module: str, title: str | None = None, after: str | None = None) -> list[Path]:
    """Write the chapter ``slug`` (module ``module``) into the guide at ``root``; the paths written.

    Nothing is written unless everything can be: a refusal is a ``ValueError`` that says why.
    """
    chapter = Chapter(slug, module, default_title(slug) if title is None else title)
    check_names(chapter)
    config_path = root / "mkdocs.yml"
    if not config_path.is_file() or not (root / "src" / "attn_examples").is_dir():
        raise ValueError(f"{root} is not the guide's repository (no mkdocs.yml or src/attn_examples)")
    mkdocs_yml = config_path.read_text(encoding="utf-8")
    pages = nav_pages(mkdocs_yml)
    existing = _existing(root, chapter, pages)
    if existing:
        raise ValueError(f"the chapter {slug!r} or its module {module!r} exists already: {', '.join(existing)}")
    new_config = with_chapter_in_nav(mkdocs_yml, chapter, after or default_after(root, pages))
    _check_nav(new_config, chapter)
    files = planned_files(root, chapter)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    config_path.write_text(new_config, encoding="utf-8")
    return [*files, config_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_site new-chapter", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser, parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments, on ``parser`` (``python -m attn_site`` gives it a subcommand)."""
    parser.add_argument("slug", metavar="SLUG", help="the page's name, e.g. sparse-attention (docs/<slug>.<lang>.md)")
    parser.add_argument(
        "--module", required=True, help="the module's name, e.g. sparse (src/attn_examples/<module>.py)"
    )
    parser.add_argument("--title", help="the title in the nav (default: from the slug, e.g. Sparse attention)")
    parser.add_argument("--after", metavar="SLUG", help="the page of the nav to follow (default: the last chapter)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the guide's repository (default: here)")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Write the chapter of ``args``; a refusal ends the command through ``parser.error`` (exit status 2)."""
    try:
        written = write_chapter(args.root, args.slug, args.module, args.title, args.after)
    except ValueError as error:
        parser.error(str(error))
    for path in written:
        print(path)
    print(
        "next: write the chapter (module, test, English page and notebook), then translate the four other "
        "languages and stamp each after its review: python -m attn_site.i18n stamp <lang> "
        f"{args.slug} notebooks/{args.slug}",
        file=sys.stderr,
    )
    return 0
