"""The glossary's terms, and the links from their first use on a page to their entries.

The glossary of each language (``docs/glossary.<lang>.md``) is the single source: its table gives
every term's name in the five languages, its ``### Name { #id }`` sections the definitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString

from attn_site.i18n import LANGUAGES

_ROW = re.compile(r"^\| \[(?P<en>[^\]]+)\]\(#(?P<id>[\w-]+)\) \| (?P<rest>.*) \|$", re.M)
_SECTION = re.compile(r"^### .*? \{ #(?P<id>[\w-]+) \}\n\n(?P<body>.*?)(?=\n### |\Z)", re.M | re.S)
_MARKUP = re.compile(r"`|\*\*|\*|\[([^\]]*)\]\([^)]*\)")
_SKIP = {"a", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "abbr"}
_SKIP_CLASSES = {"arithmatex", "katex", "headerlink", "md-annotation"}
_PRE = re.compile(r"<pre\b.*?</pre>", re.S | re.I)
_HELD = re.compile(r'<pre data-held="(\d+)"></pre>')
# a page's list of references cites works by their titles: nothing in it is linked
_REFERENCES = re.compile(r'<h2 id="references"')


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


def glossary_terms(docs: Path, lang: str, page: str = "glossary") -> list[Term]:
    """The terms of ``docs/<page>.<lang>.md``, longest name first (so "attention head" wins over "attention")."""
    text = (docs / f"{page}.{lang}.md").read_text(encoding="utf-8")
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


def split_references(html: str) -> tuple[str, str]:
    """``html`` cut where its References section starts: the running text, and the references ('' if none).

    >>> split_references('<p>a</p><h2 id="references">R</h2><ul><li>b</li></ul>')
    ('<p>a</p>', '<h2 id="references">R</h2><ul><li>b</li></ul>')
    """
    references = _REFERENCES.search(html)
    return (html, "") if references is None else (html[: references.start()], html[references.start() :])


def link_terms(html: str, terms: list[Term], glossary_url: str, link_class: str = "glossary-term") -> str:
    """Turn the first use of each term in ``html`` into a link to ``glossary_url#id`` titled with its definition.

    >>> terms = [Term("attention-head", "attention head", "One of the parallel attentions."),
    ...          Term("attention", "attention", "A weighted average.")]
    >>> link_terms("<p>Attention, and <code>attention</code>: each attention head.</p>", terms, "../glossary/")
    '<p><a class="glossary-term" href="../glossary/#attention" title="A weighted average.">Attention</a>, and \
<code>attention</code>: each <a class="glossary-term" href="../glossary/#attention-head" \
title="One of the parallel attentions.">attention head</a>.</p>'

    Code blocks are left as they are, byte for byte, and so is the References section:

    >>> link_terms("<pre><code>attention &amp;&#32;x</code></pre><p>attention</p>", terms, "g/")
    '<pre><code>attention &amp;&#32;x</code></pre><p><a class="glossary-term" href="g/#attention" \
title="A weighted average.">attention</a></p>'
    >>> link_terms('<h2 id="references">R</h2><ul><li>"Attention Is All You Need"</li></ul>', terms, "g/")
    '<h2 id="references">R</h2><ul><li>"Attention Is All You Need"</li></ul>'
    """
    running_text, references = split_references(html)
    if references:
        return link_terms(running_text, terms, glossary_url, link_class) + references
    if not terms:
        return html
    held: list[str] = []  # code blocks, never linked: kept out of the parse (half of a chapter's markup)

    def hold(block: re.Match[str]) -> str:
        held.append(block.group(0))
        return f'<pre data-held="{len(held) - 1}"></pre>'

    soup = BeautifulSoup(_PRE.sub(hold, html), "html.parser")
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
            link["class"] = link_class
            link.string = match.group(0)
            pieces += [NavigableString(node[last : match.start()]), link]
            last = match.end()
        if pieces:
            node.replace_with(*pieces, NavigableString(node[last:]))
    return _HELD.sub(lambda placeholder: held[int(placeholder.group(1))], str(soup))
