"""A Pygments filter that leaves unstyled tokens as plain text, for lighter code blocks.

Pygments wraps every token in a ``<span>`` of its type's class. Material's stylesheet draws plain
names (``.n``) in the code's own colour (``--md-code-hl-name-color`` is ``--md-code-fg-color`` in both
colour schemes) and gives whitespace (``.w``) no style at all, so those spans change nothing a reader
sees, yet they are four in ten of the elements of a long listing: on the heaviest chapter 2,400 of
its 14,700 elements, which a phone styles and lays out before it can respond. The filter hands those
tokens on as plain ``Text``, which the formatter writes without a span (and joins with the text
around it). ``mkdocs.yml`` gives it to the Python lexers through pymdownx.highlight's
``extend_pygments_lang``; ``tests/site_checks`` checks that Material still draws ``.n`` in the
code's colour.
"""

from __future__ import annotations

from collections.abc import Iterator

from pygments.filter import Filter
from pygments.lexer import Lexer
from pygments.token import Name, Text, Whitespace, _TokenType

#: the token types written as plain text: exactly these, not their subtypes (``Name.Function`` is coloured)
PLAIN = frozenset({Name, Whitespace})


class UnstyledAsText(Filter):
    """Plain names and whitespace as ``Text``; every other token unchanged.

    >>> from pygments.lexers import PythonLexer
    >>> lexer = PythonLexer()
    >>> lexer.add_filter(UnstyledAsText())
    >>> for kind, value in list(lexer.get_tokens("def f(x): pass"))[:5]:
    ...     print(str(kind), repr(value))
    Token.Keyword 'def'
    Token.Text ' '
    Token.Name.Function 'f'
    Token.Punctuation '('
    Token.Text 'x'
    """

    def filter(self, lexer: Lexer, stream: Iterator[tuple[_TokenType, str]]) -> Iterator[tuple[_TokenType, str]]:
        for kind, value in stream:
            yield (Text if kind in PLAIN else kind), value
