"""The translations' lint: each language's term base and the mechanical rules of its style guide.

Every translated language keeps, in ``translation/<lang>/``, a term base (``terms.yml``: each recurring
technical word of the guide, its rendering, the variants it replaces and whether the English may stand
beside it in brackets) and a style guide for people (``style-guide.md``). This module reads the prose of
the language's pages (front matter included: figure and table words), of its lab notebooks' Markdown
cells and of the site's words file, and reports what breaks the term base or the style guide's mechanical
rules, as ``file:line: rule: message`` (and the titles it gives the nav in mkdocs.yml)::

    python -m attn_site.translation_lint          # every translation; exit status 1 on any violation
    python -m attn_site.translation_lint zh --fix # zh: write the Han/Latin spaces and full-width punctuation

Prose is what a reader reads as text: code, math, URLs, HTML tags and heading ids are left out, and so
are the References section (the cited titles stay in their own language) and the glossary's table of the
terms in five languages. A new chapter's page or notebook that is still a copy of the English (its body, or
its Markdown cells, unchanged) waits for its translator and is not read.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from attn_site import words
from attn_site.i18n import TRANSLATIONS
from attn_site.term_base import TERM_BASES, TermBase, TermEntry, load_term_base

DOCS = Path("docs")
SKIPPED_SECTIONS = ("references", "terms-in-five-languages")  # cited titles; every language's names

RULES = {
    "forbidden-variant": "a variant the term base replaces",
    "gloss-never": "an English gloss the term base keeps out of the prose",
    "repeated-gloss": "the same English gloss twice on one page",
    "nested-brackets": "brackets inside brackets",
    "thousands": "a number whose thousands separator is not the language's",
    "han-latin-space": "zh: a space between Han characters and Latin letters, digits, code or math",
    "space-by-full-width": "zh: no space beside full-width punctuation",
    "full-width-punctuation": "zh: ASCII punctuation beside Han characters",
    "spoken-ending": "ko: a spoken sentence ending in prose",
}

_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_FULL_WIDTH = "，。、；：！？（）“”‘’《》【】…—"
_TO_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", "(": "（", ")": "）", ".": "。"}
_PROTECTED = "\ue000"  # what code, math and URLs read as in the visible text: a Latin-like unit
_PLACEHOLDER = "\ue001"  # a {name} the site fills in: neither Han nor Latin

# the pieces of a line of Markdown that are not plain text, in the order they are tried
_TOKEN = re.compile(
    r"(?P<code>(`+).+?\2)"
    r"|(?P<math>(?<![\\$])\$(?!\$)[^$\n]+?\$)"
    r"|(?P<url>https?://[^\s)>\]]+)"
    r"|(?P<target>\]\([^)\s]*(?:\s+\"[^\"]*\")?\))"
    r"|(?P<attrs>\{\s*[#.:][^}]*\})"
    r"|(?P<placeholder>\{\w+\})"
    r"|(?P<tag><!--.*?-->|</?[A-Za-z][^>\n]*>)"
    r"|(?P<strong>\*\*|__)"
    r"|(?P<emphasis>\*)"
    r"|(?P<open>!?\[)"
    r"|(?P<close>\])"
)
_FENCE = re.compile(r"^ *(```+|~~~+)")
_HEADING = re.compile(r"^(#{1,6})\s+.*?(?:\{\s*#(?P<id>[\w-]+)\s*\})?\s*$")
_ADMONITION = re.compile(r'^ *(?:!!!|\?\?\?\+?)\s*[\w-]+(?:\s+"(?P<title>[^"]*)")?\s*$')
_SNIPPET = re.compile(r"^ *--8<--")
_OPENING_TAG = re.compile(r"^\s*<[A-Za-z][\w-]*(?:\s[^>]*)?$")  # an HTML tag whose attributes go on below
_ATTRIBUTE = re.compile(r'^\s*(?P<name>[\w:-]+)\s*=\s*(?P<quote>["\'])(?P<value>.*?)(?P=quote)\s*(?P<end>/?>)?')
_PROSE_ATTRIBUTE = re.compile(r"data-(?:text|msg|label|new)-[\w-]+|title|alt|aria-label|placeholder")
_BRACKETED = re.compile(r"[(（]([^()（）]*)[)）]")
_ENGLISH = re.compile(r"[A-Za-z][A-Za-z \-]*[A-Za-z]")
_NUMBER = re.compile(r"(?<![\d.,\u202f])\d{1,3}(?:[,.\u202f]\d{3})+(?![\d]|[.,]\d)")


@dataclass(frozen=True)
class Violation:
    """One broken rule at one line of one file."""

    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


# --- what a reader reads: a line's visible text, with code, math and markup set aside -------------------


@dataclass
class _Unit:
    """A piece of a line: a visible character (``text``), or markup (``open``, ``close``, ``neutral``)."""

    kind: str
    start: int
    end: int
    text: str


def _units(line: str) -> list[_Unit]:
    """The line as visible characters and markup; code, math and URLs are one visible unit each."""
    units: list[_Unit] = []
    open_marks: set[str] = set()
    position = 0
    for match in _TOKEN.finditer(line):
        units += [_Unit("text", i, i + 1, line[i]) for i in range(position, match.start())]
        kind = match.lastgroup or ""
        span = (match.start(), match.end())
        if kind in ("code", "math", "url"):
            units.append(_Unit("text", *span, _PROTECTED))
        elif kind == "placeholder":
            units.append(_Unit("text", *span, _PLACEHOLDER))
        elif kind in ("strong", "emphasis"):
            mark = match.group(0)
            units.append(_Unit("close" if mark in open_marks else "open", *span, ""))
            open_marks ^= {mark}
        elif kind == "tag":
            tag = match.group(0)
            role = "close" if tag.startswith("</") else "neutral" if tag.startswith("<!") or "br" in tag[:4] else "open"
            units.append(_Unit(role, *span, ""))
        elif kind in ("open", "close", "target"):
            units.append(_Unit("open" if kind == "open" else "close", *span, ""))
        else:
            units.append(_Unit("neutral", *span, ""))
        position = match.end()
    units += [_Unit("text", i, i + 1, line[i]) for i in range(position, len(line))]
    return units


def visible(line: str) -> str:
    """What a reader sees of ``line``: code, math and URLs read as one private character, markup as nothing.

    >>> visible("Use **`torch.softmax`** on [the scores](#scores) { #x }") == "Use \\ue000 on the scores "
    True
    """
    return "".join(unit.text for unit in _units(line))


# --- the prose of a language's files, line by line ---------------------------------------------------------


@dataclass
class Prose:
    """The prose lines of one file (the unit within which a gloss may appear once)."""

    path: str
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line in the file, raw Markdown)


def _markdown_lines(text: str, first_line: int) -> Iterator[tuple[int, str]]:
    """The prose lines of a Markdown body starting at ``first_line`` of its file."""
    fence: str | None = None
    in_math = in_tag = False
    skipped_level = 0
    for number, line in enumerate(text.split("\n"), start=first_line):
        stripped = line.strip()
        if in_tag:  # one attribute a line: the words a reader sees in its value, if it holds any
            attribute = _ATTRIBUTE.match(line)
            if attribute is not None and _PROSE_ATTRIBUTE.fullmatch(attribute.group("name")):
                yield number, attribute.group("value")
            in_tag = attribute is None or attribute.group("end") is None
            continue
        if _OPENING_TAG.match(line) is not None and fence is None and not in_math:
            in_tag = True
            continue
        if fence is not None:
            fence = None if stripped.startswith(fence) and not stripped[len(fence) :].strip() else fence
            continue
        if (opening := _FENCE.match(line)) is not None:
            fence = opening.group(1)
            continue
        if in_math:
            in_math = not stripped.endswith("$$")
            continue
        if stripped.startswith("$$"):
            in_math = len(stripped) < 4 or not stripped.endswith("$$")
            continue
        if (heading := _HEADING.match(line)) is not None:
            level = len(heading.group(1))
            if skipped_level and level <= skipped_level:
                skipped_level = 0
            if heading.group("id") in SKIPPED_SECTIONS:
                skipped_level = level
        if skipped_level or _SNIPPET.match(line) or stripped.startswith("<!--"):
            continue
        if (admonition := _ADMONITION.match(line)) is not None:
            if admonition.group("title"):
                yield number, admonition.group("title")
            continue
        if stripped:
            yield number, line


def _yaml_strings(node: yaml.Node | None, first_line: int, skipped: tuple[str, ...] = ()) -> Iterator[tuple[int, str]]:
    """The string scalars under ``node`` (composed YAML), each with its line, the YAML's first line being
    ``first_line`` of its file; values of a key in ``skipped`` are left out."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) not in skipped:
                yield from _yaml_strings(value, first_line, skipped)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_strings(item, first_line, skipped)
    elif isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str"):
        yield node.start_mark.line + first_line, str(node.value)


def _front_matter(text: str) -> tuple[list[tuple[int, str]], str, int]:
    """The prose strings of a page's front matter, the body, and the body's first line."""
    if not text.startswith("---\n"):
        return [], text, 1
    end = text.index("\n---\n", 3)
    strings = list(_yaml_strings(yaml.compose(text[4 : end + 1]), 2, skipped=("translated_from",)))
    return strings, text[end + 5 :], text[: end + 5].count("\n") + 1


def page_prose(path: Path) -> Prose:
    """The prose of a Markdown page: its front matter's strings and its body's text."""
    strings, body, first = _front_matter(path.read_text(encoding="utf-8"))
    return Prose(str(path), strings + list(_markdown_lines(body, first)))


def notebook_prose(path: Path) -> Prose:
    """The prose of a notebook's Markdown cells, each line numbered as it stands in the ``.ipynb`` file."""
    raw = path.read_text(encoding="utf-8")
    notebook = json.loads(raw)
    file_lines = raw.split("\n")
    prose = Prose(str(path))
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        anchor = next((i for i, line in enumerate(file_lines) if f'"id": "{cell.get("id")}"' in line), 0)
        source = next((i for i in range(anchor, len(file_lines)) if '"source": [' in file_lines[i]), anchor)
        for offset, number_line in _markdown_lines("".join(cell["source"]), 0):
            prose.lines.append((source + 2 + offset, number_line))
    return prose


def words_prose(path: Path) -> Prose:
    """The strings of a words file (the site's own words and the figures' shared labels)."""
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    return Prose(str(shown), list(_yaml_strings(yaml.compose(path.read_text(encoding="utf-8")), 1)))


def nav_prose(lang: str, config: Path) -> Prose:
    """The titles ``lang`` gives the nav's pages (``nav_translations`` of its entry in ``config``, mkdocs.yml)."""
    prose = Prose(str(config))

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            fields = {str(key.value): value for key, value in node.value}
            locale, titles = fields.get("locale"), fields.get("nav_translations")
            if isinstance(locale, yaml.ScalarNode) and locale.value == lang:
                prose.lines += _yaml_strings(titles, 1)
            for value in fields.values():
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    root = yaml.compose(config.read_text(encoding="utf-8"))  # composed, not loaded: mkdocs.yml has !ENV tags
    if root is not None:
        walk(root)
    return prose


def _english_copy(path: Path, lang: str) -> bool:
    """Whether ``path`` still says what its English source says: a new chapter's page whose body, or notebook
    whose Markdown cells, nobody has translated yet (the site shows it as untranslated)."""
    english = path.with_name(path.name.replace(f".{lang}.", ".en."))
    if not english.is_file():
        return False
    if path.suffix == ".md":
        return (
            _front_matter(path.read_text(encoding="utf-8"))[1] == _front_matter(english.read_text(encoding="utf-8"))[1]
        )

    def markdown_cells(notebook: Path) -> list[str]:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]

    return markdown_cells(path) == markdown_cells(english)


def language_files(lang: str, docs: Path = DOCS) -> list[Prose]:
    """Every file of ``lang`` whose prose the lint reads: pages, notebooks, the site's words, the nav's titles;
    not the pages and notebooks that are still copies of the English, waiting for their translation."""
    pages = [page_prose(p) for p in sorted(docs.glob(f"*.{lang}.md")) if not _english_copy(p, lang)]
    notebooks = [
        notebook_prose(p) for p in sorted((docs / "notebooks").glob(f"*.{lang}.ipynb")) if not _english_copy(p, lang)
    ]
    config = docs.parent / "mkdocs.yml"
    nav = [nav_prose(lang, config)] if config.is_file() else []
    return [*pages, *notebooks, words_prose(words.FOLDER / f"{lang}.yml"), *nav]


# --- the rules -----------------------------------------------------------------------------------------------


def _is_han(char: str) -> bool:
    return bool(char) and re.match(f"[{_HAN}]", char) is not None


def _is_latin(char: str) -> bool:
    return char == _PROTECTED or (char.isascii() and char.isalnum())


def _spacing(line: str) -> Iterator[tuple[int, str, str]]:
    """zh: each place in ``line`` where a space is missing (``"insert"``) or one too many (``"delete"``)."""
    units = _units(line)
    seen = [(i, u) for i, u in enumerate(units) if u.kind == "text"]
    for (i, a), (j, b) in itertools.pairwise(seen):
        between = units[i + 1 : j]
        if (_is_han(a.text) and _is_latin(b.text)) or (_is_latin(a.text) and _is_han(b.text)):
            opening = next((u for u in between if u.kind == "open"), None)
            closing = [u for u in between if u.kind != "open"]
            at = opening.start if opening else closing[-1].end if closing else a.end
            yield at, "insert", f"a space between {a.text!r} and {b.text!r}".replace(_PROTECTED, "code")
    for k, (index, unit) in enumerate(seen[1:-1], start=1):
        (i, a), (j, b) = seen[k - 1], seen[k + 1]
        content = all(_is_han(c) or _is_latin(c) or c in _FULL_WIDTH for c in (a.text, b.text))
        # a space beside emphasis or a link stays: "**比较。** 衡量" closes its bold only with it (CommonMark)
        markup = index - i > 1 or j - index > 1
        if unit.text == " " and content and not markup and (a.text in _FULL_WIDTH or b.text in _FULL_WIDTH):
            yield unit.start, "delete", f"no space beside {a.text + b.text!r}"


def _full_width(line: str) -> Iterator[tuple[int, str]]:
    """zh: each ASCII punctuation mark of ``line``'s text that touches a Han character, with its full-width form."""
    units = [u for u in _units(line) if u.kind == "text"]
    opened: list[bool] = []  # for each open ASCII bracket: whether it touches Han (then so does its pair)
    for k, unit in enumerate(units):
        if unit.text not in _TO_FULL_WIDTH:
            continue
        before = next((u.text for u in reversed(units[:k]) if u.text != " "), "")
        after = next((u.text for u in units[k + 1 :] if u.text != " "), "")
        if unit.text == "." and not (after in ("", *_FULL_WIDTH) or _is_han(after)):
            continue
        touches = _is_han(before) or (unit.text != "." and _is_han(after))
        if unit.text == "(":
            opened.append(touches)
        elif unit.text == ")":
            touches = (opened.pop() if opened else False) or touches
        if touches:
            yield unit.start, _TO_FULL_WIDTH[unit.text]


def _gloss_key(content: str, base: TermBase) -> tuple[str, TermEntry | None] | None:
    """The English term ``content`` (a bracket's text) glosses, if it is one."""
    text = content.strip().strip("*_ ").lower()
    for term in base.terms:
        if text in (e.lower() for e in term.en):
            return term.en[0], term
    if base.language != "it" and _ENGLISH.fullmatch(text):
        return text, None
    return None


@cache
def _patterns(
    base: TermBase,
) -> tuple[list[re.Pattern[str]], list[tuple[TermEntry, re.Pattern[str]]], list[re.Pattern[str]]]:
    """The term base's patterns, compiled once for all of a language's files: accepted renderings, forbidden
    variants (whole words in alphabetic languages) with their entry, spoken endings."""
    uses = [re.compile(re.escape(form), re.I) for term in base.terms for form in term.use]
    variants = [
        (term, re.compile(rf"(?<!\w){re.escape(v)}(?!\w)" if base.whole_words else re.escape(v), re.I))
        for term in base.terms
        for v in term.forbidden
    ]
    return uses, variants, [re.compile(e) for e in base.spoken_endings]


def check_prose(prose: Prose, base: TermBase) -> list[Violation]:
    """Every violation of ``base`` and of its language's mechanical style rules in ``prose``."""
    found: list[Violation] = []
    first_gloss: dict[str, int] = {}
    uses, variants, endings = _patterns(base)

    def report(line: int, rule: str, message: str) -> None:
        found.append(Violation(prose.path, line, rule, message))

    for number, line in prose.lines:
        text = visible(line)
        used = [m.span() for pattern in uses for m in pattern.finditer(text)]
        for term, pattern in variants:
            for match in pattern.finditer(text):
                if not any(s <= match.start() and match.end() <= e for s, e in used):
                    wanted = " / ".join(term.use)
                    report(number, "forbidden-variant", f"{match.group(0)!r} for {term.en[0]!r}: write {wanted!r}")
        depth = 0
        for char in text:
            depth = depth + 1 if char in "(（" else max(depth - 1, 0) if char in ")）" else depth
            if depth > 1:
                report(number, "nested-brackets", "brackets inside brackets: rephrase, or use a comma or a dash")
                break
        for match in _BRACKETED.finditer(text):
            key = _gloss_key(match.group(1), base)
            if key is None:
                continue
            english, glossed = key
            if glossed is not None and glossed.gloss == "never":
                report(number, "gloss-never", f"{match.group(0)!r}: the term base keeps the English of {english!r} out")
            elif english in first_gloss:
                first = first_gloss[english]
                report(number, "repeated-gloss", f"{match.group(0)!r} again (first at line {first}): once a page")
            else:
                first_gloss[english] = number
        for match in _NUMBER.finditer(text):
            separators = set(re.findall(r"\D", match.group(0)))
            groups = match.group(0).count(next(iter(separators)))
            wrong = separators != {base.thousands}
            if wrong and (
                groups > 1 or (separators == {","} and base.comma_reads_as_decimal and match.group(0)[0] != "0")
            ):
                report(number, "thousands", f"{match.group(0)!r}: group thousands with {base.thousands!r} here")
        for pattern in endings:
            for match in pattern.finditer(text):
                report(number, "spoken-ending", f"{match.group(0)!r}: write prose in the style guide's register")
        if base.language == "zh":
            for _, action, message in _spacing(line):
                report(number, "han-latin-space" if action == "insert" else "space-by-full-width", message)
            for _, mark in _full_width(line):
                report(number, "full-width-punctuation", f"write {mark!r}")
    return found


def fix_line(line: str) -> str:
    """zh: ``line`` with its full-width punctuation and Han/Latin spaces written (code and math untouched).

    >>> fix_line("使用**dropout**,然后把$x$乘以2 。")
    '使用 **dropout**，然后把 $x$ 乘以 2。'
    """
    for _ in range(3):  # punctuation first: a space may go once it is full-width
        edits = [(at, at + 1, mark) for at, mark in _full_width(line)]
        edits += [(at, at, " ") if action == "insert" else (at, at + 1, "") for at, action, _ in _spacing(line)]
        if not edits:
            break
        for start, end, new in sorted(set(edits), reverse=True):
            line = line[:start] + new + line[end:]
    return line


def lint(langs: tuple[str, ...] = TRANSLATIONS, docs: Path = DOCS, folder: Path = TERM_BASES) -> list[Violation]:
    """Every violation in the files of ``langs``."""
    found: list[Violation] = []
    for lang in langs:
        base = load_term_base(lang, folder)
        for prose in language_files(lang, docs):
            found += check_prose(prose, base)
    return found


def _fix_file(path: Path) -> bool:
    """zh: rewrite the prose lines of ``path`` (a page or a notebook) with ``fix_line``; whether it changed."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        notebook = json.loads(text)
        for cell in notebook["cells"]:
            if cell["cell_type"] == "markdown":
                body = "".join(cell["source"])
                lines = body.split("\n")
                for offset, _ in _markdown_lines(body, 0):
                    lines[offset] = fix_line(lines[offset])
                cell["source"] = "\n".join(lines).splitlines(keepends=True)
        new = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    else:
        _, body, first = _front_matter(text)
        lines = text.split("\n")
        for number, _ in list(_markdown_lines(body, first)):
            lines[number - 1] = fix_line(lines[number - 1])
        new = "\n".join(lines)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_site.translation_lint", description=__doc__.split("\n")[0])
    parser.add_argument("langs", nargs="*", help=f"languages among {', '.join(TRANSLATIONS)} (default: all)")
    parser.add_argument("--fix", action="store_true", help="zh: write the Han/Latin spaces and full-width punctuation")
    args = parser.parse_args(argv)
    langs = tuple(args.langs) or TRANSLATIONS
    if unknown := set(langs) - set(TRANSLATIONS):
        parser.error(f"unknown language(s) {sorted(unknown)}: expected some of {', '.join(TRANSLATIONS)}")
    if args.fix:
        if langs != ("zh",):
            parser.error("--fix applies to zh alone")
        files = [*sorted(DOCS.glob("*.zh.md")), *sorted((DOCS / "notebooks").glob("*.zh.ipynb"))]
        print(f"rewrote {sum(_fix_file(p) for p in files)} of {len(files)} files")
    found = lint(langs)
    for violation in found:
        print(violation)
    print(f"{len(found)} violation(s) in {', '.join(langs)}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
