"""Checks of the site built by `mkdocs build --strict` (the Makefile builds it before the tests)."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from attn_site.listings import code_file, page_code, page_title
from tests.site_checks.layout import DEFAULT_LANGUAGE, LANGUAGES, NOTEBOOKS, PAGES, ROOT, SITE, built_page
from tests.site_checks.page_weight import fetched_weight, loaded_files, page_weight

pytestmark = pytest.mark.site

if not (SITE / "index.html").is_file():
    pytest.fail("site/ is missing: run `make build` (or `make test`, which builds first)", pytrace=False)

HTML_FILES = sorted(SITE.rglob("*.html"))
# attributes through which a page makes the browser fetch something
LOADING_ATTRIBUTES = {
    "script": ["src"],
    "img": ["src", "srcset"],
    "source": ["src", "srcset"],
    "iframe": ["src"],
    "video": ["src", "poster"],
    "audio": ["src"],
    "embed": ["src"],
    "object": ["data"],
    "link": ["href"],  # stylesheets, icons, preloads, manifests; rel=alternate/canonical filtered below
}
# the pages that show python blocks (attn_site.listings)
CODE_PAGES = [stem for stem in PAGES if page_code(ROOT, ROOT / "docs" / f"{stem}.{DEFAULT_LANGUAGE}.md")]
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
CSS_IMPORT = re.compile(r"@import\s+['\"]([^'\"]+)")


@cache
def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def page_url(path: Path) -> str:
    """The URL path a built file is served at, e.g. /it/simple-attention/index.html."""
    return "/" + path.relative_to(SITE).as_posix()


def is_remote(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme not in ("", "data", "blob")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", PAGES + NOTEBOOKS)
def test_every_page_is_built_in_every_language(stem: str, lang: str) -> None:
    assert built_page(stem, lang).is_file(), f"{stem} was not built for {lang}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_pages_are_rendered_html_with_outputs(stem: str, lang: str) -> None:
    path = built_page(stem, lang)
    text = path.read_text(encoding="utf-8")
    assert not text.lstrip().startswith("{"), f"{path} is raw notebook JSON (mkdocs-static-i18n issue 198)"
    page = soup(path)
    assert page.select_one(".jupyter-wrapper .jp-Notebook"), f"{path} has no rendered notebook"
    assert page.select(".jp-OutputArea-output"), f"{path} shows no executed outputs"
    download = page.select_one(f'a[href$="{Path(stem).name}.{lang}.ipynb"]')
    assert download is not None, f"{path} has no download link for its notebook"
    assert (path.parent / f"{Path(stem).name}.{lang}.ipynb").is_file()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "stem", [stem for stem in PAGES if page_code(ROOT, ROOT / "docs" / f"{stem}.{DEFAULT_LANGUAGE}.md")]
)
def test_pages_with_code_offer_it_as_one_file(stem: str, lang: str) -> None:
    """The download button serves the page's code file (tests/test_listings.py runs that file alone)."""
    path = built_page(stem, lang)
    button = soup(path).select_one('a[download][href$=".py"]')
    assert button is not None, f"{path} has no download button for its code"
    assert button.get("title"), f"{path}: the code's download button has no label"
    served = Path(unquote(urljoin(page_url(path), str(button["href"])))).relative_to("/")
    english = ROOT / "docs" / f"{stem}.{DEFAULT_LANGUAGE}.md"
    assert (SITE / served).read_text(encoding="utf-8") == code_file(ROOT, english, page_title(english))


def test_every_language_names_the_site_in_its_own_words_and_credits_the_sources() -> None:
    names, footers = {}, {}
    for lang in LANGUAGES:
        page = soup(built_page("index", lang))
        names[lang] = page.select_one(".md-header__title .md-ellipsis").get_text(strip=True)
        footers[lang] = page.select_one(".md-copyright").get_text(" ", strip=True)
    assert len(set(names.values())) == len(LANGUAGES), names  # one name per language, none left in English
    assert not any("attn-examples" in name for name in names.values()), names
    assert all("Raschka" in footer and "Karpathy" in footer and "MIT" in footer for footer in footers.values())


# strings of the theme and of Python-Markdown that mkdocs.yml or the build set in English
ENGLISH_THEME_STRINGS = ("Switch to dark mode", "Switch to light mode", "Permanent link")


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_translated_pages_carry_no_english_theme_strings(lang: str) -> None:
    found = {
        page_url(path): [s for s in ENGLISH_THEME_STRINGS if s in path.read_text(encoding="utf-8")]
        for path in HTML_FILES
        if path.relative_to(SITE).parts[0] == lang
    }
    assert found, f"no page built for {lang}"
    assert not {url: strings for url, strings in found.items() if strings}


# a float printed with all its binary digits (0.3400000035762787) rather than rounded
UNROUNDED = re.compile(r"\d\.\d{7,}")


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_outputs_print_rounded_numbers(stem: str) -> None:
    outputs = soup(built_page(stem, DEFAULT_LANGUAGE)).select(".jp-OutputArea-output")
    unrounded = [m.group(0) for o in outputs for m in UNROUNDED.finditer(o.get_text())]
    assert not unrounded, f"{stem} prints unrounded numbers: {unrounded[:5]}"


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: page_url(p))
def test_no_page_loads_anything_from_another_host(path: Path) -> None:
    page = soup(path)
    remote = []
    for tag, attributes in LOADING_ATTRIBUTES.items():
        for element in page.find_all(tag):
            if tag == "link" and {"alternate", "canonical"} & set(element.get("rel", [])):
                continue
            for attribute in attributes:
                for url in re.split(r",\s*", element.get(attribute, "")):
                    if url and is_remote(url.split()[0]):
                        remote.append(f"<{tag} {attribute}={url}>")
    for style in page.find_all("style"):
        remote += [url for url in CSS_URL.findall(style.text) + CSS_IMPORT.findall(style.text) if is_remote(url)]
    for script in page.find_all("script", src=False):
        remote += re.findall(r"""(?:import|from)\s*\(?\s*['"](https?://[^'"]+)""", script.text)
    assert not remote, f"{page_url(path)} loads from other hosts: {remote}"


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: page_url(p))
def test_every_page_carries_a_policy_that_allows_its_own_scripts_alone(path: Path) -> None:
    """The Content-Security-Policy comes first in <head>, and names by hash exactly the inline scripts the page has."""
    html = path.read_text(encoding="utf-8")
    head = soup(path).head
    assert head is not None
    first = head.find(True)
    assert first is not None and first.get("http-equiv") == "Content-Security-Policy", f"{page_url(path)}: {first}"
    directives = dict(d.strip().split(" ", 1) for d in first["content"].split(";"))
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    inline = [m.group(1) for m in re.finditer(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S | re.I)]
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline}
    assert set(directives["script-src"].split()) == {"'self'", *hashes}


def test_no_stylesheet_loads_anything_from_another_host() -> None:
    remote = {}
    for css in SITE.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        urls = [url for url in CSS_URL.findall(text) + CSS_IMPORT.findall(text) if is_remote(url)]
        if urls:
            remote[css.relative_to(SITE).as_posix()] = urls
    assert not remote


def test_math_and_fonts_are_served_by_the_site() -> None:
    assert (SITE / "assets/katex/katex.min.js").is_file()
    assert (SITE / "assets/katex/contrib/auto-render.min.js").is_file()
    css = (SITE / "assets/katex/katex.min.css").read_text(encoding="utf-8")
    for font in re.findall(r"url\((fonts/[^)]+\.woff2)\)", css):
        assert (SITE / "assets/katex" / font).is_file(), f"KaTeX font {font} is not served"


def _target_file(url_path: str) -> Path:
    target = SITE / unquote(url_path).lstrip("/")
    return target / "index.html" if url_path.endswith("/") or target.is_dir() else target


@cache
def ids_in(path: Path) -> frozenset[str]:
    return frozenset(element["id"] for element in soup(path).find_all(id=True))


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: page_url(p))
def test_internal_links_and_anchors_resolve(path: Path) -> None:
    broken = []
    base = page_url(path)
    for anchor in soup(path).find_all(["a", "link"], href=True):
        href = anchor["href"]
        if is_remote(href) or href.startswith(("mailto:", "javascript:")):
            continue
        resolved = urlsplit(urljoin(base, href))
        target = _target_file(resolved.path)
        if not target.is_file() or (
            resolved.fragment and target.suffix == ".html" and unquote(resolved.fragment) not in ids_in(target)
        ):
            broken.append(href)
    assert not broken, f"{base}: broken links {broken}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_carry_their_lang_attribute(lang: str) -> None:
    for stem in PAGES + NOTEBOOKS:
        html = soup(built_page(stem, lang)).find("html")
        assert html is not None and html.get("lang") == lang, f"{stem} in {lang}: <html lang={html.get('lang')!r}>"


def test_language_switcher_points_to_the_same_page() -> None:
    for stem in PAGES:
        for lang in LANGUAGES:
            page = built_page(stem, lang)
            links = {a.get("hreflang"): a["href"] for a in soup(page).select("a.md-select__link[hreflang]")}
            assert set(links) == set(LANGUAGES), f"{stem} in {lang}: switcher offers {sorted(links)}"
            for other, href in links.items():
                target = _target_file(urlsplit(urljoin(page_url(page), href)).path)
                assert target == built_page(stem, other), f"{stem} in {lang}: {other} link goes to {href}"


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: page_url(p))
def test_no_page_transfers_more_than_one_megabyte(path: Path) -> None:
    weight = page_weight(path) + fetched_weight(path)  # the explorer's trained model included
    assert weight <= 1_000_000, f"{page_url(path)} loads {weight / 1e3:.0f} kB: {sorted(map(str, loaded_files(path)))}"


def test_notebook_pages_share_one_jupyter_stylesheet() -> None:
    notebook_pages = [built_page(stem, lang) for stem in NOTEBOOKS for lang in LANGUAGES]
    sheets = [{f for f in loaded_files(p) if f.name.startswith("jupyter-")} for p in notebook_pages]
    assert sheets[0] and all(s == sheets[0] for s in sheets)
    assert all(not soup(p).find("style", string=re.compile(r"\.jupyter-wrapper\{--md-red-50")) for p in notebook_pages)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_its_own_not_found_page(lang: str) -> None:
    path = SITE / "404.html" if lang == DEFAULT_LANGUAGE else SITE / lang / "404.html"
    page = soup(path)
    assert page.html["lang"] == lang
    home = page.select_one("article a[href]")["href"]
    assert home.rstrip("/").endswith("" if lang == DEFAULT_LANGUAGE else f"/{lang}") and home.startswith("/")
    titles = {
        soup(SITE / ("404.html" if other == DEFAULT_LANGUAGE else f"{other}/404.html")).h1.text for other in LANGUAGES
    }
    assert len(titles) == len(LANGUAGES)  # each in its own words


def test_code_is_highlighted_without_spans_that_change_nothing() -> None:
    """attn_site.highlight writes plain names and whitespace as text, which is invisible only as long as
    Material draws plain names in the code's own colour and whitespace not at all, in both schemes."""
    page = built_page("efficient-attention", DEFAULT_LANGUAGE).read_text(encoding="utf-8")
    assert '<span class="k">def</span>' in page and not re.search(r'<span class="[nw]">', page)
    sheets = [path.read_text(encoding="utf-8") for path in (SITE / "assets" / "stylesheets").glob("*.css")]
    theme = "".join(sheets)
    assert "--md-code-hl-name-color:var(--md-code-fg-color)" in theme
    assert not re.search(r"--md-code-hl-name-color:\s*(?!var\(--md-code-fg-color\))", theme)
    assert not re.search(r"\.highlight \.w\b", theme)
