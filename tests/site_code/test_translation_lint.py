"""attn_site.translation_lint and attn_site.term_base: each rule catches what it names, leaves code, math
and cited titles alone, points at the right line, and the guide's four translations pass it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attn_site import translation_lint as lint
from attn_site.i18n import TRANSLATIONS
from attn_site.term_base import TERM_BASES, TermBase, TermEntry, load_term_base

LAYER = TermEntry(("layer",), ("strato", "strati"), ("livello", "livelli"), "first")
KEY = TermEntry(("key",), ("键",), ("键值",), "never")
HEAD_SIZE = TermEntry(("head size",), ("头维度",), ("头大小",), "first")


def _rules(base: TermBase, *lines: str) -> list[tuple[int, str]]:
    prose = lint.Prose("page.md", list(enumerate(lines, start=1)))
    return [(v.line, v.rule) for v in lint.check_prose(prose, base)]


def test_a_forbidden_variant_is_reported_as_a_whole_word_outside_code_and_math() -> None:
    italian = TermBase("it", (LAYER,), thousands=".")
    assert _rules(italian, "Ogni livello ha i suoi pesi.", "Il `livello` e $livello$ no.", "Livellato.") == [
        (1, "forbidden-variant")
    ]


def test_a_variant_inside_an_accepted_rendering_is_not_reported() -> None:
    chinese = TermBase("zh", (HEAD_SIZE, TermEntry(("value",), ("键值对",), ("值对",), "first")))
    assert _rules(chinese, "键值对的数量", "值对") == [(2, "forbidden-variant")]


def test_an_english_gloss_stands_once_a_page_and_never_when_the_term_base_says_so() -> None:
    chinese = TermBase("zh", (KEY, HEAD_SIZE))
    assert _rules(chinese, "头维度（head size）", "头维度（head size）", "键（key）", "查询（query）") == [
        (2, "repeated-gloss"),
        (3, "gloss-never"),
    ]


def test_italian_counts_only_the_term_bases_english_as_a_gloss() -> None:
    italian = TermBase("it", (LAYER,), thousands=".")
    assert _rules(italian, "strato (layer)", "strato (*layer*)", "(vedi sotto)", "(vedi sotto)") == [
        (2, "repeated-gloss")
    ]


def test_brackets_inside_brackets_are_reported_but_not_those_of_math_or_code() -> None:
    vietnamese = TermBase("vi", ())
    assert _rules(vietnamese, "trọng số (attention (α))", "hàm $f((x))$ và `g((y))`", "(a) (b)") == [
        (1, "nested-brackets")
    ]


@pytest.mark.parametrize(
    ("thousands", "text", "reported"),
    [
        (".", "2,360,064 parametri", True),
        (".", "2.360.064 parametri", False),
        (".", "65,536 token", True),  # a decimal comma language reads 65,536 as 65.5
        (".", "0,125 e 3,5 e PyTorch 2.13.0", False),
        (",", "2,360,064 个参数", False),
        (",", "2.360.064 个参数", True),
        ("\u202f", "2\u202f360\u202f064 tham số", False),
    ],
)
def test_numbers_in_prose_group_thousands_the_languages_way(thousands: str, text: str, reported: bool) -> None:
    base = TermBase("zh" if "个" in text else "it", (), thousands=thousands)
    assert (_rules(base, text) == [(1, "thousands")]) is reported


def test_chinese_wants_a_space_between_han_and_latin_and_none_beside_full_width_punctuation() -> None:
    chinese = TermBase("zh", (), cjk_latin_space=True)
    assert _rules(chinese, "在 PyTorch 中使用 `softmax` 和 $x$。", "在PyTorch中", "注意力， dropout") == [
        (2, "han-latin-space"),
        (2, "han-latin-space"),
        (3, "space-by-full-width"),
    ]


def test_chinese_spacing_leaves_heading_marks_and_the_space_emphasis_needs() -> None:
    chinese = TermBase("zh", (), cjk_latin_space=True)
    lines = ("### “is”的权重 { #is }", "1. **比较。** 衡量两种方法", "- “键”是什么")
    assert _rules(chinese, *lines) == []
    assert [lint.fix_line(line) for line in lines] == list(lines)


def test_chinese_wants_full_width_punctuation_beside_han() -> None:
    chinese = TermBase("zh", (), cjk_latin_space=True)
    assert _rules(chinese, "注意力,然后权重.", "1. 列表项：(a, b)", "形状为 (batch, heads)") == [
        (1, "full-width-punctuation"),
        (1, "full-width-punctuation"),
        (3, "full-width-punctuation"),
        (3, "full-width-punctuation"),  # the closing bracket of a pair that opens beside Han
    ]
    assert lint.fix_line("形状为 (batch, heads)") == "形状为（batch, heads）"


def test_fix_line_writes_the_spaces_and_the_full_width_marks_and_leaves_code_and_links_alone() -> None:
    fixed = lint.fix_line("见[PyTorch文档](https://x.org/a_b)和`f(x),y`,用**dropout**。")
    assert fixed == "见 [PyTorch 文档](https://x.org/a_b)和 `f(x),y`，用 **dropout**。"
    assert lint.fix_line(fixed) == fixed


def test_korean_spoken_endings_come_from_the_style_rules() -> None:
    korean = TermBase("ko", (), spoken_endings=("(?:해|이에|예)요[.!?]",))
    assert _rules(korean, "가중치를 더해요.", "필요합니다.", "가중치입니다.") == [(1, "spoken-ending")]


def test_page_prose_leaves_out_code_math_snippets_references_and_the_five_language_table(tmp_path: Path) -> None:
    page = tmp_path / "p.it.md"
    page.write_text(
        "---\ndescription: Un livello\ntranslated_from: abc\n---\n\n# Titolo { #t }\n\n```python\nlivello = 1\n```\n\n"
        '$$\nlivello\n$$\n\n--8<-- "livello.py"\n\n## Termini { #terms-in-five-languages }\n\n| livello |\n\n'
        '## Poi { #poi }\n\n!!! note "Un livello"\n    Testo.\n\n## Riferimenti { #references }\n\n- Layer livello\n',
        encoding="utf-8",
    )
    lines = lint.page_prose(page).lines
    assert [n for n, _ in lines] == [2, 6, 22, 24, 25]
    assert [text for _, text in lines] == [
        "Un livello",
        "# Titolo { #t }",
        "## Poi { #poi }",
        "Un livello",
        "    Testo.",
    ]


def test_notebook_lines_are_numbered_as_in_the_ipynb_file(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "code", "id": "cell-00", "metadata": {}, "source": ["x = 1"], "outputs": []},
        {"cell_type": "markdown", "id": "cell-01", "metadata": {}, "source": ["# Lab\n", "\n", "Un livello."]},
    ]
    path = tmp_path / "lab.it.ipynb"
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")
    (number, line) = lint.notebook_prose(path).lines[-1]
    assert line == "Un livello." and "Un livello." in text.split("\n")[number - 1]


def test_a_page_or_notebook_still_copied_from_the_english_waits_for_its_translation(tmp_path: Path) -> None:
    body = "# Module\n\nThe module holds the chapter.\n"
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "new.en.md").write_text(f"---\ndescription: A page.\n---\n\n{body}", encoding="utf-8")
    (tmp_path / "new.vi.md").write_text(f"---\ndescription: A page.\ntables: {{}}\n---\n\n{body}", encoding="utf-8")
    (tmp_path / "old.en.md").write_text(body, encoding="utf-8")
    (tmp_path / "old.vi.md").write_text(body.replace("holds", "has"), encoding="utf-8")
    cells = [{"cell_type": "markdown", "id": "c", "metadata": {}, "source": ["The module."]}]
    for name in ("lab.en.ipynb", "lab.vi.ipynb"):
        (tmp_path / "notebooks" / name).write_text(json.dumps({"cells": cells}), encoding="utf-8")
    read = {Path(prose.path).name for prose in lint.language_files("vi", tmp_path)}
    assert "old.vi.md" in read and "new.vi.md" not in read and "lab.vi.ipynb" not in read


def test_the_nav_titles_of_a_language_are_read_from_mkdocs_yml(tmp_path: Path) -> None:
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_url: !ENV [SITE_URL, null]\nplugins:\n  - i18n:\n      languages:\n        - locale: it\n"
        "          nav_translations:\n            Home: Inizio\n        - locale: zh\n"
        "          nav_translations:\n            Home: 首页\n",
        encoding="utf-8",
    )
    assert lint.nav_prose("zh", config).lines == [(10, "首页")]


def test_a_term_base_with_a_wrong_field_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "it").mkdir()
    entry = "  - en: layer\n    use: strato\n    gloss: sometimes\n"
    (tmp_path / "it" / "terms.yml").write_text(f"language: it\nterms:\n{entry}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"terms\[0\]: 'gloss' must be one of"):
        load_term_base("it", tmp_path)
    with pytest.raises(FileNotFoundError, match="no term base for 'ko'"):
        load_term_base("ko", tmp_path)


@pytest.mark.parametrize("lang", TRANSLATIONS)
def test_every_translation_has_a_term_base_and_a_style_guide(lang: str) -> None:
    base = load_term_base(lang)
    assert len(base.terms) >= 60, "the term base holds every recurring technical word, not only the glossary's"
    assert (TERM_BASES / lang / "style-guide.md").is_file()
    renderings = [form.lower() for term in base.terms for form in term.use]
    clashes = {v for term in base.terms for v in term.forbidden if v.lower() in renderings}
    assert not clashes, f"forbidden in one entry, the rendering of another: {sorted(clashes)}"


@pytest.mark.parametrize("lang", TRANSLATIONS)
def test_the_translation_passes_its_lint(lang: str) -> None:
    violations = lint.lint((lang,))
    assert not violations, "\n".join(map(str, violations))


def test_an_html_tag_over_several_lines_shows_only_the_words_of_its_prose_attributes(tmp_path: Path) -> None:
    page = tmp_path / "explorer.it.md"
    page.write_text(
        '# Esploratore { #explorer }\n\n<div class="gpt-explorer"\n     data-layer="2"\n'
        '     data-msg-empty="Scrivi un testo nel layer.">\n<label>Testo</label>\n</div>\n',
        encoding="utf-8",
    )
    lines = [line for _, line in lint.page_prose(page).lines]
    assert "Scrivi un testo nel layer." in lines
    assert not any("data-layer" in line or "gpt-explorer" in line for line in lines)
