"""Translation freshness: which translated pages still match the English page they were made from.

Every translated page records the hash of the English source it translates:
a ``translated_from`` key in a Markdown page's front matter, or in a
notebook's ``metadata.attn_examples``. When the English page changes, the
hash no longer matches and the translation is *outdated* until a translator
updates it and stamps it again. A translated page with no hash at all is
*untranslated*: it still holds the English text it was created with (as
``python -m attn_site new-chapter`` writes it) until it is translated and stamped::

    python -m attn_site.i18n status             # every page x language; exit status 1 unless all current
    python -m attn_site.i18n stamp it causal-attention   # after updating the Italian page
    python -m attn_site.i18n stamp it notebooks/causal-attention   # ... and its lab notebook

A page is named by its stem, a notebook by ``notebooks/`` and its stem, so that stamping one never
stamps the other. Every file is read and checked (UTF-8 without a byte-order mark, front matter
that is a YAML mapping, a notebook that is a JSON object with cells and metadata) before any is
written: a stamp that cannot be made changes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SOURCE = "en"
TRANSLATIONS = ("it", "zh", "ko", "vi")
LANGUAGES = (SOURCE, *TRANSLATIONS)
KEY = "translated_from"
STATES = ("current", "outdated", "untranslated", "missing")
NOTEBOOKS = "notebooks/"  # how the command names a notebook: notebooks/<stem>
_FRONT_MATTER = re.compile(r"\A---\n(?P<body>.*?\n)---\n", re.S)
_KEY_LINE = re.compile(rf"^{KEY}:[ \t]*(?P<hash>\S+)[ \t]*$", re.M)


@dataclass(frozen=True)
class Translation:
    """One page (``stem``, ``.md`` or ``.ipynb``) in one language, and how it stands."""

    stem: str
    suffix: str
    lang: str
    state: str


def split_source(src_uri: str) -> tuple[str, str, str] | None:
    """``"notebooks/lab.it.ipynb"`` → ``("notebooks/lab", "it", "ipynb")``; None without a language suffix.

    >>> split_source("causal-attention.zh.md"), split_source("assets/extra.css")
    (('causal-attention', 'zh', 'md'), None)
    """
    parts = src_uri.rsplit(".", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and parts[1] in LANGUAGES else None


def source_hash(path: Path, text: str | None = None) -> str:
    """The first 12 hex digits of the SHA-256 of a file's text (line endings normalised).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "a.en.md"
    ...     _ = p.write_text("# A\\n", encoding="utf-8")
    ...     source_hash(p)
    'aa1237b773c3'
    """
    text = (path.read_text(encoding="utf-8") if text is None else text).replace("\r\n", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def recorded_hash(path: Path) -> str | None:
    """The English hash a translated page says it was made from, or None."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return json.loads(text).get("metadata", {}).get("attn_examples", {}).get(KEY)
    front = _FRONT_MATTER.match(text)
    match = _KEY_LINE.search(front.group("body")) if front else None
    return match.group("hash") if match else None


def read_source(path: Path) -> str:
    """The text of a page or notebook, or a ValueError that says why it cannot be stamped."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        raise ValueError(f"{path} starts with a byte-order mark: save it as UTF-8 without one")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 (byte {error.start}): save it as UTF-8") from None


def _notebook(path: Path, text: str) -> dict[str, Any]:
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a notebook: invalid JSON at line {error.lineno}") from None
    if not (isinstance(notebook, dict) and isinstance(notebook.get("cells"), list)):
        raise ValueError(f"{path} is not a notebook: expected a JSON object with a list of cells")
    if not isinstance(notebook.setdefault("metadata", {}), dict):
        raise ValueError(f"{path} is not a notebook: its metadata must be a JSON object")
    return notebook


def _front_matter_body(path: Path, text: str) -> str | None:
    """The front matter of a Markdown page (None without one), checked to be a YAML mapping."""
    if not text.startswith("---\n"):
        return None
    front = _FRONT_MATTER.match(text)
    if front is None:
        raise ValueError(f"{path}: the front matter that starts on line 1 has no closing '---' line")
    try:
        data = yaml.safe_load(front.group("body"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: the front matter is not valid YAML ({error})".replace("\n", " ")) from None
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: the front matter must be a YAML mapping of keys to values")
    return front.group("body")


def stamped(path: Path, english: Path) -> str:
    """The text of ``path`` with the hash of ``english`` (the page it now translates) recorded in it.

    Raises ValueError, naming the file and the problem, when either cannot be read as a page.
    """
    digest = source_hash(english, read_source(english))
    text = read_source(path)
    if path.suffix == ".ipynb":
        notebook = _notebook(path, text)
        notebook["metadata"].setdefault("attn_examples", {})[KEY] = digest
        return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"
    body = _front_matter_body(path, text)
    if body is None:
        return f"---\n{KEY}: {digest}\n---\n\n{text}"
    rest = text[len(f"---\n{body}---\n") :]
    if _KEY_LINE.search(body):
        return f"---\n{_KEY_LINE.sub(f'{KEY}: {digest}', body)}---\n{rest}"
    return f"---\n{body}{KEY}: {digest}\n---\n{rest}"


def stamp(path: Path, english: Path) -> None:
    """Record in ``path`` the hash of ``english`` (the page it now translates)."""
    path.write_text(stamped(path, english), encoding="utf-8")


def _sources(docs: Path) -> list[Path]:
    return sorted([*docs.glob(f"*.{SOURCE}.md"), *docs.glob(f"notebooks/*.{SOURCE}.ipynb")])


def translated_path(english: Path, lang: str) -> Path:
    """``docs/x.en.md`` → ``docs/x.<lang>.md`` (and the same for notebooks)."""
    stem = english.name[: -len(f".{SOURCE}{english.suffix}")]
    return english.with_name(f"{stem}.{lang}{english.suffix}")


def state_of(english: Path, lang: str) -> str:
    """``current``, ``outdated``, ``untranslated`` (never stamped) or ``missing``."""
    path = translated_path(english, lang)
    if not path.exists():
        return "missing"
    recorded = recorded_hash(path)
    if recorded is None:
        return "untranslated"
    return "current" if recorded == source_hash(english) else "outdated"


def status(docs: Path, languages: tuple[str, ...] = TRANSLATIONS) -> list[Translation]:
    """How every translation of every English page and notebook under ``docs`` stands."""
    return [
        Translation(english.name[: -len(f".{SOURCE}{english.suffix}")], english.suffix, lang, state_of(english, lang))
        for english in _sources(docs)
        for lang in languages
    ]


def name_of(stem: str, suffix: str) -> str:
    """How the command names a page (its stem) or a notebook (``notebooks/<stem>``)."""
    return f"{NOTEBOOKS}{stem}" if suffix == ".ipynb" else stem


def english_source(docs: Path, name: str) -> Path:
    """The English page (``stem``) or notebook (``notebooks/<stem>``) that ``name`` names, or a ValueError."""
    path = docs / f"{name}.{SOURCE}.{'ipynb' if name.startswith(NOTEBOOKS) else 'md'}"
    if "/" in name.removeprefix(NOTEBOOKS) or not path.is_file():
        notebook = (docs / f"{NOTEBOOKS}{name}.{SOURCE}.ipynb").is_file()
        hint = f" (its notebook is named {NOTEBOOKS}{name})" if notebook else ""
        raise ValueError(f"no English page or notebook named {name!r} under {docs}{hint}")
    return path


def _print_status(docs: Path) -> int:
    rows = status(docs)
    if not rows:
        print(f"python -m attn_site.i18n: error: no English page under {docs}", file=sys.stderr)
        return 2
    width = max(len(name_of(r.stem, r.suffix)) for r in rows)
    print(f"{'page':{width}}  " + "  ".join(f"{lang:12}" for lang in TRANSLATIONS))
    keys = sorted({(r.stem, r.suffix) for r in rows})
    for stem, suffix in keys:
        cells = {r.lang: r.state for r in rows if (r.stem, r.suffix) == (stem, suffix)}
        print(f"{name_of(stem, suffix):{width}}  " + "  ".join(f"{cells[lang]:12}" for lang in TRANSLATIONS))
    counts = {state: sum(r.state == state for r in rows) for state in STATES}
    print(", ".join(f"{n} {state}" for state, n in counts.items()))
    return 0 if counts["current"] == len(rows) else 1


def _stamp(docs: Path, lang: str, names: list[str]) -> None:
    """Stamp the ``lang`` translation of each of ``names``; every file is checked before any is written."""
    texts: dict[Path, str] = {}
    for name in names:
        english = english_source(docs, name)
        target = translated_path(english, lang)
        if not target.exists():
            raise ValueError(f"{target} does not exist: translate it first")
        texts[target] = stamped(target, english)
    for target, text in texts.items():
        target.write_text(text, encoding="utf-8")
        print(f"stamped {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_site.i18n", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the docs folder (default: docs)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "status",
        help="list every page x language as current, outdated, untranslated or missing "
        "(exit status 1 unless every translation is current, 2 when there is no page)",
    )
    stamp_parser = sub.add_parser("stamp", help="mark translations as made from the current English page")
    stamp_parser.add_argument("lang", choices=TRANSLATIONS)
    stamp_parser.add_argument(
        "names", nargs="+", metavar="PAGE", help="pages by stem (causal-attention), notebooks as notebooks/<stem>"
    )
    args = parser.parse_args(argv)
    if args.command == "status":
        return _print_status(args.docs)
    try:
        _stamp(args.docs, args.lang, args.names)
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
