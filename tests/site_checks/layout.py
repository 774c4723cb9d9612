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


def _languages() -> list[dict]:
    for plugin in _load_mkdocs_config()["plugins"]:
        if isinstance(plugin, dict) and "i18n" in plugin:
            return plugin["i18n"]["languages"]
    raise LookupError("mkdocs.yml has no i18n plugin")


def _flat(items: list) -> list[tuple[str, str]]:
    """The nav's entries as (title, target), those of its sections included, in order."""
    flat = []
    for item in items:
        ((title, target),) = item.items()
        flat.extend(_flat(target) if isinstance(target, list) else [(title, target)])
    return flat


def _plugin_options(name: str) -> dict:
    for plugin in _load_mkdocs_config()["plugins"]:
        if isinstance(plugin, dict) and name in plugin:
            return plugin[name] or {}
    return {}


DEFAULT_LANGUAGE = next(lang["locale"] for lang in _languages() if lang.get("default"))
LANGUAGES = [lang["locale"] for lang in _languages()]
TRANSLATIONS = [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]
# the nav: (title, target) in order, and each translation's titles of it
NAV = _flat(_load_mkdocs_config()["nav"])
NAV_TRANSLATIONS = {
    lang["locale"]: lang.get("nav_translations") or {} for lang in _languages() if not lang.get("default")
}

# The English sources, without the language suffix: "simple-attention", "notebooks/simple-attention"
PAGES = sorted(p.relative_to(DOCS).as_posix().removesuffix(".en.md") for p in DOCS.rglob("*.en.md"))
NOTEBOOKS = sorted(p.relative_to(DOCS).as_posix().removesuffix(".en.ipynb") for p in DOCS.rglob("*.en.ipynb"))


def source(stem: str, lang: str, suffix: str = ".md") -> Path:
    return DOCS / f"{stem}.{lang}{suffix}"


def built_page(stem: str, lang: str) -> Path:
    """The HTML file a page of ``lang`` is built to (directory URLs, English at the root)."""
    prefix = SITE if lang == DEFAULT_LANGUAGE else SITE / lang
    return prefix / "index.html" if stem == "index" else prefix / stem / "index.html"


# the glossary terms linked only on some pages (attn/glossary's only_on): term id -> page stems
GLOSSARY_ONLY_ON: dict[str, list[str]] = _plugin_options("attn/glossary").get("only_on", {})
