from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from attn_examples.bench import IMPLEMENTATIONS
from attn_examples.simple import attention_matrix, hello_shiny_sun
from attn_site import figures
from attn_site.i18n import LANGUAGES
from attn_site.plot import THEMES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TEXT_OF_SVG = re.compile(r"<text\b[^>]*>([^<]*)</text>")


def _words(svg: str) -> set[str]:
    return {html.unescape(t) for t in TEXT_OF_SVG.findall(svg)}


MODULES = {i.name for i in IMPLEMENTATIONS if i.kind == "module"}


def test_every_chapter_with_a_module_has_a_figure() -> None:
    chapters = {p.name.removesuffix(".en.ipynb") for p in (ROOT / "docs" / "notebooks").glob("*.en.ipynb")}
    assert chapters | {"benchmarks"} == {f.name.split("/")[0] for f in figures.FIGURES}


def test_the_benchmark_chart_shows_every_measured_implementation_in_each_panel() -> None:
    timings = figures.benchmark_timings(DOCS)
    assert [(mode, causal) for mode, causal, _ in timings.panels] == [
        ("forward", False),
        ("forward", True),
        ("forward+backward", False),
        ("forward+backward", True),
    ]
    names = {curve.name for _, _, curves in timings.panels for curve in curves}
    assert {"SDPA", "flash.py", "nn.MultiheadAttention"} <= names
    assert all(curve.dashed == (curve.name in MODULES) for _, _, curves in timings.panels for curve in curves)


def test_every_text_is_given_in_every_language() -> None:
    for figure in figures.FIGURES:
        for key, by_lang in figures._entries(figure.name, DOCS).items():
            assert set(by_lang) == set(LANGUAGES), f"{figure.name}.{key}"
            assert all(isinstance(t, str) and t.strip() for t in by_lang.values()), f"{figure.name}.{key}"


def test_words_missing_in_one_language_are_named_with_their_page(tmp_path: Path) -> None:
    for lang in LANGUAGES:
        words = "" if lang == "vi" else "figures:\n  weights:\n    title: T\n"
        (tmp_path / f"simple-attention.{lang}.md").write_text(f"---\n{words}---\n\n# P\n", encoding="utf-8")
    with pytest.raises(KeyError, match=r"simple-attention\.vi\.md: no words 'title'"):
        figures.text_for("simple-attention/weights", "en", tmp_path)


@pytest.mark.parametrize("figure", figures.FIGURES, ids=lambda f: f.name)
def test_each_language_gets_its_own_words_and_only_them(figure: figures.GuideFigure) -> None:
    svg = figures.draw_svg(figure, "light", DOCS)
    entries = figures._entries(figure.name, DOCS)
    for lang in LANGUAGES:
        words = _words(figures.localise_svg(svg, figure.name, lang, DOCS))
        own = {by_lang[lang] for by_lang in entries.values()}
        others = {t for by_lang in entries.values() for other, t in by_lang.items() if other != lang} - own
        assert words & others == set(), lang
        assert figures.text_for(figure.name, lang, DOCS)("title") in words


def test_the_simple_figure_shows_the_chapters_numbers() -> None:
    simple = next(f for f in figures.FIGURES if f.name == "simple-attention/weights")
    svg = figures.draw_svg(simple, "dark", DOCS)
    shown = [t for t in TEXT_OF_SVG.findall(svg) if re.fullmatch(r"0\.\d\d", t)]
    expected = [f"{w:.2f}" for w in attention_matrix(hello_shiny_sun()).flatten().tolist()]
    assert shown[:9] == expected


def test_write_figures_writes_each_language_and_theme(tmp_path: Path) -> None:
    written = figures.write_figures(tmp_path, ["en", "ko"], ["cross-attention/weights"], DOCS)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        f"{lang}/cross-attention/weights.{theme}.svg" for lang in ("en", "ko") for theme in THEMES
    )
    assert "키 (x₂의 토큰)" in _words((tmp_path / "ko/cross-attention/weights.dark.svg").read_text())


def test_bad_figure_names_languages_and_keys_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown figures"):
        figures.write_figures(tmp_path, ["en"], ["no-such/figure"])
    with pytest.raises(ValueError, match="languages must be among"):
        figures.write_figures(tmp_path, ["fr"])
    with pytest.raises(KeyError, match="no words 'nope'"):
        figures.text_for("simple-attention/weights", "en", DOCS)("nope")
