"""Translation freshness: which translated pages still match the English page they were made from.

Every translated page records the hash of the English source it translates:
a ``translated_from`` key in a Markdown page's front matter, or in a
notebook's ``metadata.attn_examples``. When the English page changes, the
hash no longer matches and the translation is *outdated* until a translator
updates it and stamps it again. A translated page with no hash at all is
*untranslated*: it still holds the English text it was created with (as
``python -m attn_site new-chapter`` writes it) until it is translated and stamped::

    python -m attn_site.i18n status             # every page x language
    python -m attn_site.i18n stamp it causal-attention   # after updating the Italian page
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SOURCE = "en"
TRANSLATIONS = ("it", "zh", "ko", "vi")
LANGUAGES = (SOURCE, *TRANSLATIONS)
KEY = "translated_from"
STATES = ("current", "outdated", "untranslated", "missing")
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


def source_hash(path: Path) -> str:
    """The first 12 hex digits of the SHA-256 of a file's text (line endings normalised).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "a.en.md"
    ...     _ = p.write_text("# A\\n", encoding="utf-8")
    ...     source_hash(p)
    'aa1237b773c3'
    """
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def recorded_hash(path: Path) -> str | None:
    """The English hash a translated page says it was made from, or None."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return json.loads(text).get("metadata", {}).get("attn_examples", {}).get(KEY)
    front = _FRONT_MATTER.match(text)
    match = _KEY_LINE.search(front.group("body")) if front else None
    return match.group("hash") if match else None


def stamp(path: Path, english: Path) -> None:
    """Record in ``path`` the hash of ``english`` (the page it now translates)."""
    digest = source_hash(english)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        notebook = json.loads(text)
        notebook.setdefault("metadata", {}).setdefault("attn_examples", {})[KEY] = digest
        path.write_text(json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return
    front = _FRONT_MATTER.match(text)
    if front is None:
        text = f"---\n{KEY}: {digest}\n---\n\n{text}"
    elif _KEY_LINE.search(front.group("body")):
        body = _KEY_LINE.sub(f"{KEY}: {digest}", front.group("body"))
        text = f"---\n{body}---\n{text[front.end() :]}"
    else:
        text = f"---\n{front.group('body')}{KEY}: {digest}\n---\n{text[front.end() :]}"
    path.write_text(text, encoding="utf-8")


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


def _print_status(docs: Path) -> int:
    rows = status(docs)
    width = max((len(r.stem + r.suffix) for r in rows), default=10)
    print(f"{'page':{width}}  " + "  ".join(f"{lang:12}" for lang in TRANSLATIONS))
    keys = sorted({(r.stem, r.suffix) for r in rows})
    for stem, suffix in keys:
        cells = {r.lang: r.state for r in rows if (r.stem, r.suffix) == (stem, suffix)}
        print(f"{stem + suffix:{width}}  " + "  ".join(f"{cells[lang]:12}" for lang in TRANSLATIONS))
    counts = {state: sum(r.state == state for r in rows) for state in STATES}
    print(", ".join(f"{n} {state}" for state, n in counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_site.i18n", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the docs folder (default: docs)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="list every page x language as current, outdated, untranslated or missing")
    stamp_parser = sub.add_parser("stamp", help="mark translations as made from the current English page")
    stamp_parser.add_argument("lang", choices=TRANSLATIONS)
    stamp_parser.add_argument("stems", nargs="+", metavar="PAGE", help="page names, e.g. causal-attention")
    args = parser.parse_args(argv)
    if args.command == "status":
        return _print_status(args.docs)
    for stem in args.stems:
        found = [e for e in _sources(args.docs) if e.name.startswith(f"{stem}.{SOURCE}.")]
        if not found:
            parser.error(f"no English page or notebook named {stem!r} under {args.docs}")
        for english in found:
            target = translated_path(english, args.lang)
            if not target.exists():
                parser.error(f"{target} does not exist: translate it first")
            stamp(target, english)
            print(f"stamped {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
