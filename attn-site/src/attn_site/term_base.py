"""A translated language's term base: ``translation/<lang>/terms.yml``.

Each recurring technical word of the guide, with its rendering in the language, the variants that
rendering replaces and whether the English may stand beside it in brackets; the mechanical rules of the
language's style guide (``translation/<lang>/style-guide.md``); and the compounds inside which a glossary
name must never get a tooltip. :mod:`attn_site.translation_lint` checks the prose against it, and the
glossary plugin (:mod:`attn_site.plugins.glossary`) reads its compounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

TERM_BASES = Path("translation")
GLOSSES = ("first", "never")
THOUSANDS = (",", ".", " ", "\u202f")


@dataclass(frozen=True)
class TermEntry:
    """One entry of a term base: the English forms, the renderings, the variants they replace."""

    en: tuple[str, ...]
    use: tuple[str, ...]
    forbidden: tuple[str, ...]
    gloss: str


@dataclass(frozen=True)
class TermBase:
    """A language's term base and the mechanical rules of its style guide (``translation/<lang>/terms.yml``)."""

    language: str
    terms: tuple[TermEntry, ...]
    thousands: str = ","
    cjk_latin_space: bool = False
    spoken_endings: tuple[str, ...] = ()
    no_tooltip: tuple[str, ...] = ()

    @property
    def whole_words(self) -> bool:
        """Whether a variant is matched as a whole word (alphabetic languages) or anywhere (Chinese, Korean)."""
        return self.language not in ("zh", "ko")

    @property
    def comma_reads_as_decimal(self) -> bool:
        """Whether a reader may take ``12,345`` for a decimal: the language does not group thousands with
        commas (Italian and Vietnamese readers write a half ``0,5``, whatever the page's own decimals)."""
        return self.thousands != ","


def _strings(entry: dict[str, object], key: str, where: str, required: bool = True) -> tuple[str, ...]:
    value = entry.get(key, [] if not required else None)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ValueError(f"{where}: {key!r} must be a non-empty string or a list of them, got {value!r}")
    if required and not values:
        raise ValueError(f"{where}: {key!r} must not be empty")
    return tuple(values)


def load_term_base(lang: str, folder: Path = TERM_BASES) -> TermBase:
    """Read and check ``folder/<lang>/terms.yml``; a ``ValueError`` names the file and the entry at fault."""
    path = folder / lang / "terms.yml"
    if not path.is_file():
        raise FileNotFoundError(f"no term base for {lang!r}: expected {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("language") != lang or not isinstance(data.get("terms"), list):
        raise ValueError(f"{path}: expected a mapping with 'language: {lang}' and a list 'terms'")
    style = data.get("style") or {}
    if not isinstance(style, dict):
        raise ValueError(f"{path}: 'style' must be a mapping")
    thousands = style.get("thousands", ",")
    if thousands not in THOUSANDS:
        raise ValueError(f"{path}: style.thousands must be one of {THOUSANDS}, got {thousands!r}")
    terms = []
    for index, entry in enumerate(data["terms"]):
        where = f"{path}: terms[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping with en, use, forbidden and gloss")
        gloss = entry.get("gloss", "first")
        if gloss not in GLOSSES:
            raise ValueError(f"{where}: 'gloss' must be one of {GLOSSES}, got {gloss!r}")
        terms.append(
            TermEntry(
                _strings(entry, "en", where),
                _strings(entry, "use", where),
                _strings(entry, "forbidden", where, required=False),
                gloss,
            )
        )
    endings = tuple(str(e) for e in style.get("spoken_endings") or ())
    for ending in endings:
        re.compile(ending)
    return TermBase(
        lang,
        tuple(terms),
        thousands,
        bool(style.get("cjk_latin_space", False)),
        endings,
        tuple(str(c) for c in data.get("no_tooltip") or ()),
    )


def tooltip_exclusions(lang: str, folder: Path = TERM_BASES) -> tuple[str, ...]:
    """The compounds of ``lang`` inside which no glossary name is linked (none without a term base)."""
    return load_term_base(lang, folder).no_tooltip if (folder / lang / "terms.yml").is_file() else ()
