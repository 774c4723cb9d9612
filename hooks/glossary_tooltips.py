"""Link the first use of each glossary term on a page to its entry, with its definition as a tooltip.

The glossary of each language (``docs/glossary.<lang>.md``) is the single source: its table gives
every term's name in the five languages, its ``### Name { #id }`` sections the definitions. On a
Markdown page of language L, the first occurrence of each term's L name in running text (not in
code, math, links or headings) becomes a link to ``glossary/#id`` whose ``title`` is the
definition; Material's ``content.tooltips`` shows it on hover and keyboard focus.
Parsing a page takes a noticeable part of a build, so each result is kept in
``.cache/glossary-links/``, keyed by the page's HTML, the glossary and this file: a rebuild
after one edit parses that page again, not all of them. Entries unused for a week are deleted.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from attn_site.i18n import LANGUAGES, SOURCE, split_source

_ROW = re.compile(r"^\| \[(?P<en>[^\]]+)\]\(#(?P<id>[\w-]+)\) \| (?P<rest>.*) \|$", re.M)
_SECTION = re.compile(r"^### .*? \{ #(?P<id>[\w-]+) \}\n\n(?P<body>.*?)(?=\n### |\Z)", re.M | re.S)
_MARKUP = re.compile(r"`|\*\*|\*|\[([^\]]*)\]\([^)]*\)")
_SKIP = {"a", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "abbr"}
_SKIP_CLASSES = {"arithmatex", "katex", "headerlink", "md-annotation"}


@dataclass(frozen=True)
class Term:
    id: str
    name: str
    definition: str


_TEX = {
    "infty": "∞",
    "sqrt": "√",
    "cdot": "·",
    "top": "ᵀ",
    "times": "×",
    "le": "≤",
    "ge": "≥",
    "ln": "ln",
    "exp": "exp",
    "odot": "⊙",
    "to": "→",
    "sum": "Σ",
    "max": "max",
    "ell": "ℓ",
    "in": "∈",
    "partial": "∂",
    "sigma": "σ",
    "alpha": "α",
    "omega": "ω",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "theta": "θ",
    "epsilon": "ε",
    "tau": "τ",
    "dots": "…",
    "ldots": "…",
    "quad": " ",
}  # others (\frac, \text…) drop


def _plain(markdown: str) -> str:
    """A definition as plain text for a tooltip: no Markdown marks, formulas without TeX commands."""
    text = _MARKUP.sub(lambda m: m.group(1) or "", markdown.strip())
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = re.sub(r"\\([a-zA-Z]+)", lambda m: _TEX.get(m.group(1), ""), text)
    text = text.replace("^ᵀ", "ᵀ").replace("$", "").replace("{", "").replace("}", "")
    return " ".join(text.split())


def glossary_terms(docs: Path, lang: str) -> list[Term]:
    """The terms of ``docs/glossary.<lang>.md``, longest name first (so "attention head" wins over "attention")."""
    text = (docs / f"glossary.{lang}.md").read_text(encoding="utf-8")
    definitions = {m.group("id"): _plain(m.group("body").split("\n\n")[0]) for m in _SECTION.finditer(text)}
    terms = []
    for row in _ROW.finditer(text):
        names = [row.group("en"), *(cell.strip() for cell in row.group("rest").split(" | "))]
        name = re.sub(r"\s*[(（].*?[)）]", "", names[LANGUAGES.index(lang)]).strip()  # "căn chỉnh (alignment)"
        if name and row.group("id") in definitions:
            terms.append(Term(row.group("id"), name, definitions[row.group("id")]))
    return sorted(terms, key=lambda t: -len(t.name))


def _alternative(name: str) -> str:
    if re.search(r"[A-Za-zÀ-ỹ]", name):  # alphabetic scripts: whole words
        return rf"(?<![\w-]){re.escape(name)}(?![\w-])"
    return re.escape(name)  # Chinese and Korean: no spaces between words


def _text_nodes(soup: BeautifulSoup) -> list[NavigableString]:
    nodes = []
    for node in soup.find_all(string=True):
        if any(p.name in _SKIP or _SKIP_CLASSES & set(p.get("class") or []) for p in node.parents):
            continue
        if node.find_parent(["p", "li", "td", "dd"]) is not None:
            nodes.append(node)
    return nodes


def link_terms(html: str, terms: list[Term], glossary_url: str) -> str:
    """Turn the first use of each term in ``html`` into a link to ``glossary_url#id`` titled with its definition.

    >>> terms = [Term("attention-head", "attention head", "One of the parallel attentions."),
    ...          Term("attention", "attention", "A weighted average.")]
    >>> link_terms("<p>Attention, and <code>attention</code>: each attention head.</p>", terms, "../glossary/")
    '<p><a class="glossary-term" href="../glossary/#attention" title="A weighted average.">Attention</a>, and \
<code>attention</code>: each <a class="glossary-term" href="../glossary/#attention-head" \
title="One of the parallel attentions.">attention head</a>.</p>'
    """
    if not terms:
        return html
    soup = BeautifulSoup(html, "html.parser")
    by_name = {t.name.lower(): t for t in terms}
    pattern = re.compile("|".join(_alternative(t.name) for t in terms), re.I)  # longest names first
    used: set[str] = set()
    for node in _text_nodes(soup):
        pieces, last = [], 0
        for match in pattern.finditer(node):
            term = by_name[match.group(0).lower()]
            if term.id in used:
                continue
            used.add(term.id)
            link = soup.new_tag("a", href=f"{glossary_url}#{term.id}", title=term.definition)
            link["class"] = "glossary-term"
            link.string = match.group(0)
            pieces += [NavigableString(node[last : match.start()]), link]
            last = match.end()
        if pieces:
            node.replace_with(*pieces, NavigableString(node[last:]))
    return str(soup)


CACHE = Path(".cache") / "glossary-links"  # under the folder of mkdocs.yml
MAX_AGE_S = 7 * 24 * 3600
_terms: dict[str, tuple[list[Term], bytes]] = {}  # language -> its terms, and what they were read from


def on_pre_build(config: MkDocsConfig) -> None:
    _terms.clear()
    for entry in (Path(config.config_file_path).parent / CACHE).glob("*.html"):
        if time.time() - entry.stat().st_mtime > MAX_AGE_S:
            entry.unlink()


def _cached_link_terms(html: str, lang: str, glossary_url: str, config: MkDocsConfig) -> str:
    if lang not in _terms:
        source = (Path(config.docs_dir) / f"glossary.{lang}.md").read_bytes()
        _terms[lang] = glossary_terms(Path(config.docs_dir), lang), source
    terms, source = _terms[lang]
    key = hashlib.sha256(Path(__file__).read_bytes() + source + glossary_url.encode() + html.encode())
    path = Path(config.config_file_path).parent / CACHE / f"{key.hexdigest()}.html"
    if path.exists():
        path.touch()  # marks it as used, for the eviction in on_pre_build
        return path.read_text(encoding="utf-8")
    linked = link_terms(html, terms, glossary_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(linked, encoding="utf-8")
    return linked


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    split = split_source(page.file.src_uri)
    if split is None or split[2] != "md" or split[0] == "glossary":
        return html
    lang = split[1]
    glossary = "glossary/" if lang == SOURCE else f"{lang}/glossary/"
    return _cached_link_terms(html, lang, get_relative_url(glossary, page.url), config)
