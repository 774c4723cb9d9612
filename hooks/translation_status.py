"""Tell readers when a translation lags behind its English page, and list how every translation stands.

Each translated page records the hash of the English page it was made from
(``attn_site.i18n``). When the English page has changed since, this hook
puts a banner, in the page's own language, at the top of the translation,
with a link to the English page. On the page ``translation-status`` it
replaces the marker ``<!-- translation-status -->`` with a table of every
page × language: current, outdated or missing.
"""

from __future__ import annotations

import html
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from attn_site.i18n import SOURCE, TRANSLATIONS, split_source, state_of, status

MARKER = "<!-- translation-status -->"
BANNER = {
    "it": (
        "Traduzione forse non aggiornata",
        "La pagina inglese è cambiata dopo questa traduzione, quindi alcune parti potrebbero non corrispondere più. "
        "In caso di dubbio fa fede la {link}.",
        "versione inglese",
    ),
    "zh": (
        "此译文可能已过时",
        "本译文完成后，英文原文又有修改，部分内容可能已与原文不一致。如有出入，请以{link}为准。",
        "英文版",
    ),
    "ko": (
        "번역이 최신이 아닐 수 있습니다",
        "이 번역이 작성된 뒤 영어 원문이 바뀌어 일부 내용이 원문과 다를 수 있습니다. 의심스러우면 {link}을 확인하세요.",
        "영어판",
    ),
    "vi": (
        "Bản dịch có thể đã cũ",
        "Trang tiếng Anh đã thay đổi sau khi bản dịch này được viết, nên một số phần có thể không còn khớp. "
        "Khi có khác biệt, hãy theo {link}.",
        "bản tiếng Anh",
    ),
}
STATE_WORDS = {
    "en": {"current": "current", "outdated": "outdated", "missing": "missing", "page": "Page"},
    "it": {"current": "aggiornata", "outdated": "da aggiornare", "missing": "mancante", "page": "Pagina"},
    "zh": {"current": "最新", "outdated": "已过时", "missing": "缺失", "page": "页面"},
    "ko": {"current": "최신", "outdated": "오래됨", "missing": "없음", "page": "페이지"},
    "vi": {"current": "mới nhất", "outdated": "đã cũ", "missing": "còn thiếu", "page": "Trang"},
}


def _language(page: Page) -> str:
    split = split_source(page.file.src_uri)
    return split[1] if split else SOURCE


def _english_source(page: Page, config: MkDocsConfig) -> Path:
    split = split_source(page.file.src_uri)
    assert split is not None  # called for translated pages only, whose names carry their language
    stem, _, suffix = split
    return Path(config.docs_dir) / f"{stem}.{SOURCE}.{suffix}"


def _table(lang: str, docs: Path) -> str:
    words = STATE_WORDS[lang]
    rows = status(docs)
    lines = [f"| {words['page']} | " + " | ".join(TRANSLATIONS) + " |", "|---|" + ":---:|" * len(TRANSLATIONS)]
    for stem, suffix in sorted({(r.stem, r.suffix) for r in rows}, key=lambda key: (key[1], key[0])):
        cells = {r.lang: r.state for r in rows if (r.stem, r.suffix) == (stem, suffix)}
        name = f"notebooks/{stem}{suffix}" if suffix == ".ipynb" else f"{stem}{suffix}"
        lines.append(f"| `{name}` | " + " | ".join(words[cells[t]] for t in TRANSLATIONS) + " |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, _table(_language(page), Path(config.docs_dir)))
    return markdown


def on_page_content(content: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    lang = _language(page)
    if lang == SOURCE:
        return content
    english = _english_source(page, config)
    if not english.exists() or state_of(english, lang) != "outdated":
        return content
    title, text, label = BANNER[lang]
    english_url = page.url.removeprefix(f"{lang}/")
    link = f'<a href="{html.escape(get_relative_url(english_url, page.url))}" hreflang="en">{label}</a>'
    return (
        f'<div class="admonition warning translation-outdated"><p class="admonition-title">{title}</p>'
        f"<p>{text.format(link=link)}</p></div>\n{content}"
    )
