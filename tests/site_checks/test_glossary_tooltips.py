"""attn/glossary (attn_site.plugins.glossary): every glossary term links, on first use, to its entry with its
definition."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup, SoupStrainer

from attn_site.plugins.glossary import terms as hook
from attn_site.plugins.glossary.plugin import GlossaryPlugin
from tests.site_checks.layout import DOCS, GLOSSARY_ONLY_ON, LANGUAGES, PAGES, SITE, built_page

TERMS = [
    hook.Term("attention-head", "attention head", "One of several attentions."),
    hook.Term("attention", "attention", "A weighted average."),
    hook.Term("token", "词元", "一个元素。"),
]


def test_a_korean_or_chinese_term_is_linked_as_a_word_of_its_own_not_inside_another() -> None:
    terms = [hook.Term("key", "키", "Key."), hook.Term("value", "值", "Value.")]
    korean = hook.link_terms("<p>패키지를 설치하고 키워드를 보면, 키를 비교합니다.</p>", terms, "g/")
    assert [a.text for a in BeautifulSoup(korean, "html.parser").select("a")] == ["키"]
    assert "패키지를" in korean and "키워드를" in korean  # not split by a link
    chinese = hook.link_terms("<p>默认值、最大值和峰值都不是每个值向量里的值。</p>", terms, "g/")
    linked = BeautifulSoup(chinese, "html.parser").select("a")
    assert [a.text for a in linked] == ["值"] and "默认值" in chinese and "每个<a" in chinese


def _links(html: str) -> list[tuple[str, str, str]]:
    return [(a["href"], a["title"], a.text) for a in BeautifulSoup(html, "html.parser").select("a.glossary-term")]


def test_first_use_in_running_text_is_linked_and_nothing_else() -> None:
    html = (
        '<h2>Attention</h2><p><code>attention</code> <a href="x">attention</a> '
        '<span class="arithmatex">attention</span>'
        " attentional attention-like Attention, attention</p><li>each attention head and 词元</li>"
    )
    assert _links(hook.link_terms(html, TERMS, "../glossary/")) == [
        ("../glossary/#attention", "A weighted average.", "Attention"),
        ("../glossary/#attention-head", "One of several attentions.", "attention head"),
        ("../glossary/#token", "一个元素。", "词元"),
    ]


def test_definitions_are_plain_text() -> None:
    assert hook._plain("Weights $\\alpha_i = e^{\\omega_i}$, see [softmax](#softmax) and `torch`.") == (
        "Weights α_i = e^ω_i, see softmax and torch."
    )


def test_every_language_defines_the_same_terms() -> None:
    ids = {lang: {t.id for t in hook.glossary_terms(DOCS, lang)} for lang in LANGUAGES}
    assert len(ids["en"]) > 50
    assert all(found == ids["en"] for found in ids.values())
    assert all(t.name and t.definition for lang in LANGUAGES for t in hook.glossary_terms(DOCS, lang))


def test_every_glossary_shows_the_same_table_of_names_in_five_languages() -> None:
    """Each language's column comes from its own glossary (where its links' names are read): the others copy it."""
    tables = {lang: hook._ROW.findall((DOCS / f"glossary.{lang}.md").read_text(encoding="utf-8")) for lang in LANGUAGES}
    for lang, rows in tables.items():
        assert rows == tables["en"], f"glossary.{lang}.md's table of names differs from glossary.en.md's"


def _config(tmp_path: Path, lang: str) -> SimpleNamespace:
    """The configuration of ``lang``'s build as the plugin reads it (the i18n plugin's current language)."""
    i18n_plugin = SimpleNamespace(
        current_language=lang,
        config=SimpleNamespace(languages=[SimpleNamespace(locale=x, default=x == "en", build=True) for x in LANGUAGES]),
    )
    plugins = SimpleNamespace(get=lambda name: i18n_plugin if name == "i18n" else None)
    return SimpleNamespace(
        config_file_path=str(tmp_path / "mkdocs.yml"), docs_dir=str(DOCS), plugins=plugins, theme={"language": "en"}
    )


class _Files:
    """The files of a build, of which the plugin asks the glossary's URL."""

    def get_file_from_path(self, path: str) -> SimpleNamespace | None:
        stem, lang, _ = path.split(".")
        return SimpleNamespace(url=f"{'' if lang == 'en' else lang + '/'}{stem}/")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_plugin_links_in_the_language_of_the_build_and_keeps_the_result(
    tmp_path: Path, lang: str, monkeypatch
) -> None:
    plugin = GlossaryPlugin()
    errors, _ = plugin.load_config({"cache_dir": str(tmp_path / "cache")})
    assert not errors
    config = _config(tmp_path, lang)
    plugin.on_config(_config(tmp_path, "en"))  # the build of the first language starts the site's
    plugin.on_config(config)
    term = next(t for t in hook.glossary_terms(DOCS, lang) if t.id == "softmax")
    prefix = "" if lang == "en" else f"{lang}/"
    page = SimpleNamespace(file=SimpleNamespace(src_uri=f"chapter.{lang}.md"), url=f"{prefix}chapter/")
    html = f"<p>{term.name}</p>"
    linked = plugin.on_page_content(html, page=page, config=config, files=_Files())
    assert _links(linked) == [("../glossary/#softmax", term.definition, term.name)]
    monkeypatch.setattr("attn_site.plugins.glossary.plugin.link_terms", lambda *a: pytest.fail("parsed again"))
    assert plugin.on_page_content(html, page=page, config=config, files=_Files()) == linked
    # the glossary itself and the notebooks get no links
    for src_uri in (f"glossary.{lang}.md", f"notebooks/lab.{lang}.ipynb"):
        other = SimpleNamespace(file=SimpleNamespace(src_uri=src_uri), url=f"{prefix}x/")
        assert plugin.on_page_content(html, page=other, config=config, files=_Files()) == html


def test_the_plugin_links_no_name_inside_the_compounds_of_the_term_base(tmp_path: Path) -> None:
    base = tmp_path / "translation" / "zh"
    base.mkdir(parents=True)
    (base / "terms.yml").write_text("language: zh\nterms: []\nno_tooltip: [softmax 函数]\n", encoding="utf-8")
    plugin = GlossaryPlugin()
    assert not plugin.load_config({"cache_dir": str(tmp_path / "cache")})[0]
    plugin.on_config(_config(tmp_path, "en"))
    config = _config(tmp_path, "zh")
    plugin.on_config(config)
    page = SimpleNamespace(file=SimpleNamespace(src_uri="chapter.zh.md"), url="zh/chapter/")
    linked = plugin.on_page_content("<p>softmax 函数之后，再看 softmax。</p>", page=page, config=config, files=_Files())
    assert linked.startswith("<p>softmax 函数之后，再看 <a ") and _links(linked)[0][2] == "softmax"


def _article(stem: str, lang: str) -> BeautifulSoup:
    """The ``<article>`` of a built page (parsed alone: the pages' navigation is a third of their elements)."""
    html = built_page(stem, lang).read_text(encoding="utf-8")
    return BeautifulSoup(html, "html.parser", parse_only=SoupStrainer("article")).article


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_term_used_on_a_page_links_to_its_definition_there(lang: str) -> None:
    glossary = hook.glossary_terms(DOCS, lang)
    terms = {t.id: t for t in glossary}
    linked_somewhere = set()
    for stem in PAGES:
        if stem == "glossary":
            continue
        all_terms = tuple(hook.terms_on_page(glossary, stem, GLOSSARY_ONLY_ON))
        article = _article(stem, lang)
        links = {a["href"].rsplit("#", 1)[1]: a for a in article.select("a.glossary-term")}
        references = article.select_one("h2#references")  # the titles cited there are not linked
        for cited in [] if references is None else [references, *references.find_next_siblings()]:
            cited.extract()
        for term_id, link in links.items():
            assert link["title"] == terms[term_id].definition
            assert link["href"].endswith(f"glossary/#{term_id}")
        # scanning the running text as the hook does, every term it still finds was linked before
        for node in hook._text_nodes(article):
            for _, term in hook.term_uses(str(node), all_terms):
                assert term.id in links, f"{term.name!r} is used on {lang}/{stem} but not linked"
        linked_somewhere |= set(links)
    assert len(linked_somewhere) >= len(terms) // 2, sorted(set(terms) - linked_somewhere)


@pytest.mark.site
def test_glossary_links_are_only_on_markdown_pages() -> None:
    assert "glossary-term" not in (SITE / "glossary" / "index.html").read_text(encoding="utf-8")


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_term_is_linked_in_the_references_of_any_page(lang: str) -> None:
    linked = {}
    for stem in PAGES:
        heading = _article(stem, lang).select_one("h2#references")
        if heading is None:
            continue
        after = [e for e in heading.find_all_next() if e.name == "a" and "glossary-term" in (e.get("class") or [])]
        if after:
            linked[stem] = [a.text for a in after]
    assert not linked, f"glossary links inside cited titles: {linked}"


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_term_kept_to_some_pages_is_linked_nowhere_else(lang: str) -> None:
    """Encoder *memory* links on cross-attention alone, never where a page speaks of a GPU's memory."""
    assert "memory" in GLOSSARY_ONLY_ON  # the everyday word that first linked to the wrong entry
    for term_id, pages in GLOSSARY_ONLY_ON.items():
        linked = {
            stem
            for stem in PAGES
            if stem != "glossary" and _article(stem, lang).select(f'a[href$="glossary/#{term_id}"]')
        }
        assert linked == set(pages)
