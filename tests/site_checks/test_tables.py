"""The tables the site derives (attn/tables, attn_site.plugins.tables): the map of the guide on the home page,
from the nav and the pages' front matter, the agreement table, from the results and the chapter modules, and
the benchmarks' tables, from their results, in the words of each language's page."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from attn_examples.agreement import ENGLISH as AGREEMENT_ENGLISH
from attn_examples.agreement import EXAMPLES, english_phrases
from attn_examples.bench import ENGLISH, IMPLEMENTATIONS
from attn_site import i18n
from attn_site.pages import front_matter, included_modules
from attn_site.plugins.tables.plugin import agreement_table, agreement_words, benchmark_words, guide_map
from attn_site.words import words_for
from tests.site_checks.layout import DEFAULT_LANGUAGE, DOCS, LANGUAGES, NAV, NAV_TRANSLATIONS, built_page, source

# the pages the map lists: every Markdown page of the nav but the home page, which shows it
MAPPED = [
    (title, target.removesuffix(".md")) for title, target in NAV if target.endswith(".md") and target != "index.md"
]


def _page(folder: Path, name: str, title: str, text: str) -> SimpleNamespace:
    path = folder / f"{name}.it.md"
    path.write_text(text, encoding="utf-8")
    return SimpleNamespace(title=title, file=SimpleNamespace(src_uri=path.name, abs_src_path=str(path)))


def test_the_map_gives_each_page_its_title_description_and_modules(tmp_path: Path) -> None:
    pages = [
        _page(
            tmp_path, "a", "Capitolo A", '---\ndescription: "Di A | e B."\n---\n\n--8<-- "src/attn_examples/x.py:s"\n'
        ),
        _page(tmp_path, "b", "Capitolo B", "# B\n"),
    ]
    words = words_for("it")["guide_map"]
    assert guide_map(pages, "it").splitlines() == [
        f"| {words['page']} | {words['about']} | {words['code']} |",
        "| --- | --- | --- |",
        "| [Capitolo A](a.md) | Di A \\| e B. | `attn_examples.x` |",
        "| [Capitolo B](b.md) |  | — |",
    ]


def test_the_agreement_table_follows_the_nav_and_names_what_was_not_measured(tmp_path: Path) -> None:
    environment = {"device": "cpu", "gpu_available": False, "torch": "2", "date": "2026-01-01", "machine": "x"}
    first, second = EXAMPLES[0], EXAMPLES[-1]
    record = {"chapter": second.chapter, "example": second.name, "by_design": second.by_design, "note": second.note}
    output = {"cpu_f32_vs_f64": 0.0, "device_f32_vs_cpu_f32": None, "device_f64_vs_cpu_f64": None, "tensors": ["x"]}
    record |= {"device": "cpu", "not_run": None, "output": output}
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps({"environment": environment}) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    titles = {second.chapter: "Second", first.chapter: "First"}  # the nav's order
    rows = [line for line in agreement_table(results, titles).splitlines() if line.startswith("| [")]
    assert rows[0].startswith(f"| [Second]({second.chapter}.md) | {second.name} | 0 |")
    first_rows = [row for row in rows if row.startswith(f"| [First]({first.chapter}.md) | {first.name}")]
    assert len(first_rows) == 1 and f"| {AGREEMENT_ENGLISH['not_measured_yet']} |" in first_rows[0]
    assert len(rows) == len({e.name for e in EXAMPLES})


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_home_page_maps_every_page_of_the_nav(lang: str) -> None:
    home = BeautifulSoup(built_page("index", lang).read_text(encoding="utf-8"), "html.parser")
    column = words_for(lang)["guide_map"]["page"]
    table = next(t for t in home.select("article table") if t.find("th").get_text(strip=True) == column)
    rows = [tr.find_all("td") for tr in table.select("tbody tr")]
    assert len(rows) == len(MAPPED)
    for (title, stem), (page, about, code) in zip(MAPPED, rows, strict=True):
        expected_title = title if lang == DEFAULT_LANGUAGE else NAV_TRANSLATIONS[lang].get(title, title)
        assert page.get_text(strip=True) == expected_title, stem
        assert page.find("a")["href"].rstrip("/").endswith(stem)
        description = " ".join(str(front_matter(source(stem, lang))["description"]).split())
        assert " ".join(about.get_text().split()) == description, f"{stem}.{lang}.md"
        markdown = source(stem, lang).read_text(encoding="utf-8")
        modules = [f"attn_examples.{m}" for m in included_modules(markdown)] or ["—"]
        shown = [c.get_text() for c in code.find_all("code")] or [code.get_text(strip=True)]
        assert shown == modules, f"{stem}.{lang}.md"


@pytest.mark.site
def test_the_agreement_page_has_a_row_for_every_example() -> None:
    page = BeautifulSoup(built_page("agreement", DEFAULT_LANGUAGE).read_text(encoding="utf-8"), "html.parser")
    examples = {tr.find_all("td")[1].get_text().split(": ")[0] for tr in page.select("article table tbody tr")}
    assert {e.name.split(": ")[0] for e in EXAMPLES} <= examples
    assert "<!-- agreement-table -->" in (DOCS / "agreement.en.md").read_text(encoding="utf-8")


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_benchmarks_tables_are_in_the_language_of_their_page(lang: str) -> None:
    words = benchmark_words(front_matter(source("benchmarks", lang)), lang, DEFAULT_LANGUAGE)
    page = BeautifulSoup(built_page("benchmarks", lang).read_text(encoding="utf-8"), "html.parser")
    headed = [
        (table, [th.get_text(" ", strip=True) for th in table.select("thead th")])
        for table in page.select("article table")
    ]
    targets = [(table, h) for table, h in headed if h[:2] == [words["mode"], words["causal"]]]
    timings = [table for table, h in headed if h[0] == words["implementation"] and h[-1] == words["error"]]
    assert len(targets) == 1 and targets[0][1][3:6] == [words["fastest"], words["versus_sdpa"], words["memory_ratio"]]
    assert len(timings) == 4  # forward and forward+backward, with and without the causal mask
    names = {implementation.name for implementation in IMPLEMENTATIONS}  # the names --only takes, in every language
    assert {tr.find("td").get_text(strip=True) for table in timings for tr in table.select("tbody tr")} <= names
    cells = {tuple(td.get_text(strip=True) for td in tr.find_all("td")[:2]) for tr in targets[0][0].select("tbody tr")}
    assert {mode for mode, _ in cells} <= set(words["modes"].values())
    assert {causal for _, causal in cells} == {words["causal_yes"], words["causal_no"]}
    headings = [" ".join(p.get_text(" ").split()) for p in page.select("article p") if p.find("strong")]
    caption = words["heading"].split("}", 2)[-1].replace("*", "").strip(" :：")  # what follows {mode} and {causal}
    assert sum(caption in heading for heading in headings) == 4
    if lang != DEFAULT_LANGUAGE:  # the sentences are translated (a header may keep an English term on purpose)
        assert words["measured"] != ENGLISH["measured"] and words["heading"] != ENGLISH["heading"]


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_every_translated_chapter_translates_its_example_names_and_notes(lang: str) -> None:
    """A chapter not yet translated (python -m attn_site new-chapter) keeps its examples' English meanwhile."""
    words = agreement_words(front_matter(source("agreement", lang)), lang, DEFAULT_LANGUAGE)
    untranslated = {t.stem for t in i18n.status(DOCS, (lang,)) if t.suffix == ".md" and t.state == "untranslated"}
    examples = [example for example in EXAMPLES if example.chapter not in untranslated]
    missing = sorted(english_phrases(examples) - set(words["phrases"]))
    assert not missing, f"docs/agreement.{lang}.md, tables: agreement: phrases: lacks {missing}"


@pytest.mark.site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_agreement_table_is_in_the_language_of_its_page(lang: str) -> None:
    words = agreement_words(front_matter(source("agreement", lang)), lang, DEFAULT_LANGUAGE)
    page = BeautifulSoup(built_page("agreement", lang).read_text(encoding="utf-8"), "html.parser")
    table = next(t for t in page.select("article table") if t.find("th").get_text(strip=True) == words["chapter"])
    titles = [th.get_text(" ", strip=True) for th in table.select("thead th")]
    assert titles == [words["chapter"], words["example"], words["columns"]["cpu_f32_vs_f64"], words["note"]]
    names = {" ".join(tr.find_all("td")[1].get_text().split()) for tr in table.select("tbody tr")}
    said = [words["phrases"].get(example.name, example.name) for example in EXAMPLES]
    parts = [words[part].format(example=name) for name in said for part in ("forward", "gradients")]
    assert names <= {*said, *parts} and len(names) >= len(said)
    if lang != DEFAULT_LANGUAGE:  # the modules' English is translated, and so are the table's own words
        assert sum(example.name != name for example, name in zip(EXAMPLES, said, strict=True)) > len(said) // 2
        assert words["cpu_only"] != AGREEMENT_ENGLISH["cpu_only"] and words["chapter"] != AGREEMENT_ENGLISH["chapter"]
