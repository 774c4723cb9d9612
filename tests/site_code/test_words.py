"""The site's own words (attn_site.words): every language has them all."""

from __future__ import annotations

from attn_site.i18n import SOURCE, TRANSLATIONS
from attn_site.words import words_for


def _keys(words: dict, prefix: str = "") -> set[str]:
    """Every key of ``words``, nested ones as ``outer.inner``."""
    return {
        key
        for name, value in words.items()
        for key in ({prefix + name} if not isinstance(value, dict) else _keys(value, f"{prefix}{name}."))
    }


def test_every_language_has_the_same_words_and_english_needs_no_banner() -> None:
    translated = _keys(words_for(TRANSLATIONS[0]))
    for lang in TRANSLATIONS:
        assert _keys(words_for(lang)) == translated, lang
    assert _keys(words_for(SOURCE)) == {key for key in translated if not key.split(".")[0].endswith("_banner")}
