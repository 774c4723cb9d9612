"""What every plugin of the site shares: its configuration's common options and the language being built."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin

from attn_site.plugins.cache import DiskCache


class SitePluginConfig(Config):
    """``enabled`` turns the plugin off (the build then lacks what it adds); ``cache_dir`` is relative to mkdocs.yml."""

    enabled = c.Type(bool, default=True)
    cache_dir = c.Type(str, default=".cache")


class SitePlugin(BasePlugin[SitePluginConfig]):
    """A plugin of the site: knows its project folder and its caches.

    A subclass names its own configuration: ``config_class = LanguagesConfig`` and
    ``config: LanguagesConfig`` (MkDocs cannot read it from a generic base).
    """

    def root(self, config: MkDocsConfig) -> Path:
        """The folder of mkdocs.yml."""
        return Path(config.config_file_path).parent

    def cache(self, config: MkDocsConfig, name: str) -> DiskCache:
        """The cache ``name`` of this site, under ``cache_dir``."""
        return DiskCache(self.root(config) / self.config.cache_dir / name)


def build_order(config: MkDocsConfig) -> list[str]:
    """The languages a build makes, in order: mkdocs-static-i18n builds the default one first.

    Without the i18n plugin, the theme's language alone.
    """
    plugin = config.plugins.get("i18n")
    if plugin is None:
        return [config.theme["language"]]
    languages = plugin.config.languages
    default = [lang.locale for lang in languages if lang.default]
    return default + [lang.locale for lang in languages if lang.build and not lang.default]


def building_language(config: MkDocsConfig) -> str:
    """The language being built now: the i18n plugin's current language, else the theme's."""
    plugin = config.plugins.get("i18n")
    current = getattr(plugin, "current_language", None) if plugin is not None else None
    return str(current or config.theme["language"])


def is_first_language(config: MkDocsConfig) -> bool:
    """Whether this build is the first of the site's language builds (where shared work starts)."""
    return building_language(config) == build_order(config)[0]


def is_last_language(config: MkDocsConfig) -> bool:
    """Whether this build is the last of the site's language builds (where shared work ends)."""
    return building_language(config) == build_order(config)[-1]
