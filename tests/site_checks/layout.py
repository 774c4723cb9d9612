"""Where the guide's sources and built pages are, shared by the site checks."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SITE = ROOT / "site"


def _load_mkdocs_config() -> dict:
    class Loader(yaml.SafeLoader):
        """Reads mkdocs.yml, ignoring its !relative and !!python tags."""

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)


def _languages() -> tuple[str, list[str]]:
    for plugin in _load_mkdocs_config()["plugins"]:
        if isinstance(plugin, dict) and "i18n" in plugin:
            languages = plugin["i18n"]["languages"]
            default = next(lang["locale"] for lang in languages if lang.get("default"))
            return default, [lang["locale"] for lang in languages]
    raise LookupError("mkdocs.yml has no i18n plugin")


DEFAULT_LANGUAGE, LANGUAGES = _languages()
TRANSLATIONS = [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]

# The English sources, without the language suffix: "simple-attention", "notebooks/simple-attention"
PAGES = sorted(p.relative_to(DOCS).as_posix().removesuffix(".en.md") for p in DOCS.rglob("*.en.md"))
NOTEBOOKS = sorted(p.relative_to(DOCS).as_posix().removesuffix(".en.ipynb") for p in DOCS.rglob("*.en.ipynb"))


def source(stem: str, lang: str, suffix: str = ".md") -> Path:
    return DOCS / f"{stem}.{lang}{suffix}"


def built_page(stem: str, lang: str) -> Path:
    """The HTML file a page of ``lang`` is built to (directory URLs, English at the root)."""
    prefix = SITE if lang == DEFAULT_LANGUAGE else SITE / lang
    return prefix / "index.html" if stem == "index" else prefix / stem / "index.html"
