"""A search index per language, each loaded only by its own language's pages.

mkdocs-static-i18n builds the languages one after the other into one folder; Material's search
plugin writes each build's index to ``search/search_index.json``, and mkdocs-static-i18n finally
writes there an index of every language (2.3 MB for this site), which every page loaded: a search
on the Korean site for "softmax" returned 143 pages, none of them Korean. Here each language's own
index, as Material wrote it for that language's build, is kept at its language's root
(``<lang>/search/search_index.json``, the default language's at the site root), with its locations
made relative to that root and lunr's languages reduced to English and the page's language (English
names of terms stay findable everywhere). Material's JavaScript loads ``search/search_index.json``
relative to the ``base`` of the page's ``__config`` and resolves result locations against it, so a
page of another language than the default gets its language's root as ``base``.

The index holds each page's prose, headings and inline code, not its code listings (``<pre>``
blocks): those are the same in every language, were four tenths of the index's text (136 of 321
kB in English), and their every name also matched a search for a word of the prose. Every page
downloads the index and hands it to the search worker as it loads, which on a phone blocked the
page for a tenth of a second more with the listings in it.

Material indexes a page before its formulas are typeset (attn/math works on the finished page), so
its entries hold TeX, which search results showed as ``\\(\\sigma^2\\)``; each formula of an entry
is written as plain Unicode text instead (``σ^2``), by pylatexenc.
"""

from __future__ import annotations

import functools
import html
import json
import re

from jinja2.utils import htmlsafe_json_dumps
from pylatexenc.latex2text import LatexNodes2Text

SEARCH_INDEX = "search/search_index.json"
_CONFIG = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)', re.DOTALL)
_FORMULA = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)  # \(…\) or \[…\], as arithmatex leaves them
_LISTING = re.compile(r"<pre>.*?</pre>", re.DOTALL)
_SIZED_FRACTION = re.compile(r"\\[td]frac(?![A-Za-z])")
_TO_TEXT = LatexNodes2Text(math_mode="text")


@functools.cache
def _plain(tex: str) -> str:
    """One formula as text: pylatexenc's Unicode (it knows ``\\frac``, not its sized forms), on one line."""
    return " ".join(_TO_TEXT.latex_to_text(_SIZED_FRACTION.sub(r"\\frac", tex)).split())


def readable_math(text: str) -> str:
    """``text``, the HTML of a search entry, with each TeX formula written as plain text.

    >>> readable_math(r"weights \\(\\operatorname{softmax}(QK^\\top / \\sqrt{d})\\), \\(\\tfrac12 &lt; 1\\)")
    'weights softmax(QK^⊤/ √(d)), 1/2 &lt; 1'
    """

    def plain(formula: re.Match[str]) -> str:
        return html.escape(_plain(html.unescape(formula.group(1) or formula.group(2))), quote=False)

    return _FORMULA.sub(plain, text)


def language_index(index: str, lang: str, default: str) -> str:
    """The search index ``index`` (JSON text, one language's pages) as that language's own.

    Locations become relative to the language's root; lunr keeps English and ``lang`` alone;
    formulas become text (:func:`readable_math`); code listings are left out.

    >>> text = "\\\\(k_j\\\\)<pre><code>k = x @ w</code></pre>"
    >>> doc = {"location": "it/glossary/#key", "title": "Chiave", "text": text}
    >>> index = json.dumps({"config": {"lang": ["en", "it", "zh"]}, "docs": [doc]})
    >>> language_index(index, "it", default="en")
    '{"config": {"lang": ["en", "it"]}, "docs": [{"location": "glossary/#key", "title": "Chiave", "text": "k_j"}]}'
    """
    data = json.loads(index)
    data["config"]["lang"] = [code for code in data["config"]["lang"] if code in ("en", lang)]
    prefix = "" if lang == default else f"{lang}/"
    for doc in data["docs"]:
        if not doc["location"].startswith(prefix):
            raise ValueError(f"the {lang} search index holds a page of another language: {doc['location']!r}")
        doc["location"] = doc["location"].removeprefix(prefix)
        doc["title"], doc["text"] = readable_math(doc["title"]), readable_math(_LISTING.sub("", doc["text"]))
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": "))


def with_language_base(output: str, lang: str) -> str:
    """``output`` with the ``base`` of Material's ``__config`` moved to the root of ``lang``'s pages.

    >>> page = '<script id="__config" type="application/json">{"base": "../..", "search": "x"}</script>'
    >>> with_language_base(page, "it")
    '<script id="__config" type="application/json">{"base": "../../it/", "search": "x"}</script>'
    >>> with_language_base(page.replace("../..", "/"), "ko")
    '<script id="__config" type="application/json">{"base": "/ko/", "search": "x"}</script>'
    """
    found = _CONFIG.search(output)
    if found is None:
        raise ValueError("the page has no Material __config script: the theme's templates changed")
    config = json.loads(found.group(2))
    config["base"] = f"{config['base'].rstrip('/')}/{lang}/"
    return output[: found.start(2)] + str(htmlsafe_json_dumps(config)) + output[found.end(2) :]
