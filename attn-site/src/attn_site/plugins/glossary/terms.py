"""The glossary's terms, and the links from their first use on a page to their entries.

The glossary of each language (``docs/glossary.<lang>.md``) is the single source: its table gives
every term's name in the five languages, its ``### Name { #id }`` sections the definitions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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


def terms_on_page(terms: list[Term], page: str, only_on: Mapping[str, Sequence[str]]) -> list[Term]:
    """The terms linked on ``page`` (a stem): all but those ``only_on`` keeps to other pages.

    >>> terms = [Term("memory", "memory", "The encoder's output."), Term("key", "key", "Key.")]
    >>> [t.id for t in terms_on_page(terms, "benchmarks", {"memory": ["cross-attention"]})]
    ['key']
    >>> [t.id for t in terms_on_page(terms, "cross-attention", {"memory": ["cross-attention"]})]
    ['memory', 'key']
    """
    return [term for term in terms if term.id not in only_on or page in only_on[term.id]]


def _alternative(name: str) -> str:
    if re.search(r"[A-Za-zÀ-ỹ]", name):  # alphabetic scripts: whole words
        return rf"(?<![\w-]){re.escape(name)}(?![\w-])"
    return re.escape(name)  # Chinese and Korean: no spaces between words (see _whole_word)


_HANGUL = re.compile(r"[가-힣]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# what may follow a Korean noun inside its word: particles, the copula, the plural
_KOREAN_ENDINGS = frozenset(
    [
        "을",
        "를",
        "이",
        "가",
        "은",
        "는",
        "의",
        "와",
        "과",
        "에",
        "로",
        "으로",
        "도",
        "만",
        "에서",
        "에게",
        "까지",
        "부터",
        "보다",
        "처럼",
        "만큼",
        "이나",
        "나",
        "이며",
        "며",
        "이고",
        "고",
        "이다",
        "입니다",
        "인",
        "이라는",
        "라는",
        "란",
        "으로서",
        "로서",
        "에는",
        "에도",
        "에서는",
        "으로는",
        "로는",
        "와의",
        "과의",
        "와는",
        "과는",
        "들",
        "들의",
        "들을",
        "들이",
        "들은",
        "들과",
        "들로",
        "들에",
    ]
)


@cache
def _chinese_words(names: tuple[str, ...]) -> Any:
    """jieba's tokenizer (the segmentation the site's Chinese search uses), the glossary's ``names`` kept whole."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    words = jieba.Tokenizer()
    for name in names:
        words.suggest_freq(name, tune=True)
    return words


def _chinese_boundaries(text: str, names: tuple[str, ...]) -> set[int]:
    """The offsets in ``text`` where a Chinese word starts or ends."""
    return {offset for _, start, end in _chinese_words(names).tokenize(text) for offset in (start, end)}


def _whole_word(text: str, start: int, end: int, chinese: Callable[[], set[int]]) -> bool:
    """Whether ``text[start:end]``, a match of a Korean or Chinese name, is a word of its own.

    Korean: nothing of the same word before it, and only a particle or an ending after it ("키를",
    not "패키지" or "키워드"). Chinese: the match starts and ends where jieba cuts the text ("值" in
    "每个值向量", not in "默认值").

    >>> _whole_word("패키지를 설치", 2, 3, set), _whole_word("키를 비교", 0, 1, set)
    (False, True)
    """
    name = text[start:end]
    if _HANGUL.search(name):
        if start > 0 and _HANGUL.match(text[start - 1]):
            return False
        rest = re.match(r"[가-힣]*", text[end:])
        return rest is None or rest.group(0) in ("", *_KOREAN_ENDINGS)
    if _HAN.search(name):
        boundaries = chinese()
        return start in boundaries and end in boundaries
    return True


def _text_nodes(soup: BeautifulSoup) -> list[NavigableString]:
    nodes = []
    for node in soup.find_all(string=True):
        if any(p.name in _SKIP or _SKIP_CLASSES & set(p.get("class") or []) for p in node.parents):
            continue
        if node.find_parent(["p", "li", "td", "dd"]) is not None:
            nodes.append(node)
    return nodes


@cache
def _matcher(terms: tuple[Term, ...]) -> tuple[re.Pattern[str], dict[str, Term], tuple[str, ...]]:
    """The pattern of every name (longest first), each name's term, and the Chinese names."""
    pattern = re.compile("|".join(_alternative(t.name) for t in terms), re.I)
    chinese = tuple(t.name for t in terms if _HAN.search(t.name) and not _HANGUL.search(t.name))
    return pattern, {t.name.lower(): t for t in terms}, chinese


def term_uses(
    text: str, terms: tuple[Term, ...], never_inside: tuple[str, ...] = ()
) -> Iterator[tuple[re.Match[str], Term]]:
    """Each use of a term in ``text``, in order: a name matched as a word of its own (``_whole_word``), and
    not inside one of the compounds ``never_inside`` (the language's term base lists them).

    >>> [m.group(0) for m, _ in term_uses("패키지의 키를", (Term("key", "키", "Key."),))]
    ['키']
    >>> [m.group(0) for m, _ in term_uses("值域和值", (Term("value", "值", "Value."),), ("值域",))]
    ['值']
    """
    pattern, by_name, chinese = _matcher(terms)
    boundaries = cache(lambda: _chinese_boundaries(text, chinese))
    compounds = [m.span() for c in never_inside for m in re.finditer(re.escape(c), text)]
    for match in pattern.finditer(text):
        inside = any(s <= match.start() and match.end() <= e for s, e in compounds)
        if not inside and _whole_word(text, match.start(), match.end(), boundaries):
            yield match, by_name[match.group(0).lower()]


def split_references(html: str) -> tuple[str, str]:
    """``html`` cut where its References section starts: the running text, and the references ('' if none).

    >>> split_references('<p>a</p><h2 id="references">R</h2><ul><li>b</li></ul>')
    ('<p>a</p>', '<h2 id="references">R</h2><ul><li>b</li></ul>')
    """
    references = _REFERENCES.search(html)
    return (html, "") if references is None else (html[: references.start()], html[references.start() :])


def link_terms(
    html: str,
    terms: list[Term],
    glossary_url: str,
    link_class: str = "glossary-term",
    never_inside: tuple[str, ...] = (),
) -> str:
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
        return link_terms(running_text, terms, glossary_url, link_class, never_inside) + references
    if not terms:
        return html
    held: list[str] = []  # code blocks, never linked: kept out of the parse (half of a chapter's markup)

    def hold(block: re.Match[str]) -> str:
        held.append(block.group(0))
        return f'<pre data-held="{len(held) - 1}"></pre>'

    soup = BeautifulSoup(_PRE.sub(hold, html), "html.parser")
    used: set[str] = set()
    all_terms = tuple(terms)  # one key of term_uses's cached matcher for the whole page
    for node in _text_nodes(soup):
        pieces, last = [], 0
        for match, term in term_uses(str(node), all_terms, never_inside):
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
