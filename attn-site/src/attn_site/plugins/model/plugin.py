"""Serve the trained tiny GPT's weights to the explorer, written at build time from the shipped checkpoint.

The explorer's view of the trained model (``docs/assets/javascripts/gpt-explorer.js``) computes the model
in the browser from these weights. They are derived from ``src/attn_examples/data/tiny_gpt.pt`` at every
build (:func:`attn_site.model_weights.tiny_gpt_weights`), never committed twice; the first language's build
adds them once, at the site's root, for every language's pages.
"""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

from attn_site.model_weights import tiny_gpt_weights
from attn_site.plugins.base import SitePlugin, is_first_language
from attn_site.plugins.model.config import ModelConfig


class ModelPlugin(SitePlugin):
    config_class = ModelConfig
    config: ModelConfig

    @event_priority(-150)  # after mkdocs-static-i18n (-100) has sorted the source files by language
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled or not is_first_language(config):
            return files
        files.append(File.generated(config, self.config.path.strip("/"), content=tiny_gpt_weights()))
        return files
