"""Draw the guide's figures at build time, from the code in ``src/``, in the language being built.

Pages show a figure as two images, ``figures/<chapter>/<name>.light.svg#only-light`` and
``….dark.svg#only-dark`` (Material shows the one of the reader's colour scheme). No image is
committed: ``python -m attn_site.figures`` draws every figure in every language, in a subprocess
started when the first language's build starts and waited for once the notebooks have run, so
that the two overlap and, under ``mkdocs serve``, the edited code is the one that draws. Its SVGs
are kept in ``<cache_dir>/figures/``, one entry per language, keyed by every file of ``code``
(``src/``, ``attn-site/src/``), the figures' words in the pages' front matter and matplotlib's
version, so an edit to the code or to the words redraws them and nothing stale is served. Each
language's build then adds its own SVGs under its own prefix (``figures/…`` for English,
``it/figures/…`` for Italian), and gives each ``<img>`` of a figure the SVG's width and height, so
that the page keeps the figure's place while it loads instead of shifting the text below it, and
``loading="lazy"``: figures are far down the pages, and fetching them early delays what the reader
sees first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from attn_site.pages import figure_words
from attn_site.plugins.base import SitePlugin, build_order, building_language, is_first_language
from attn_site.plugins.cache import DiskCache, files_key
from attn_site.plugins.figures.config import FiguresConfig

_SVG_SIZE = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"')


def figures_key(root: Path, folders: Iterable[str], docs: Path) -> str:
    """The hash of every file under ``folders`` (relative to ``root``), of the figures' words in the
    pages under ``docs`` and of matplotlib's version."""
    words = [(page.name, figure_words(page)) for page in sorted(docs.glob("*.md"))]
    return DiskCache.key("matplotlib", version("matplotlib"), files_key(root, folders), words)


def svg_size(svg: str) -> tuple[int, int] | None:
    """An SVG's size in CSS pixels (matplotlib writes points; a CSS pixel is 3/4 of a point).

    >>> svg_size('<svg xmlns="http://www.w3.org/2000/svg" width="300pt" height="150.5pt">')
    (400, 201)
    """
    size = _SVG_SIZE.search(svg[:2048])
    if size is None:
        return None
    width, height = (round(float(v) * 4 / 3) for v in size.groups())
    return width, height


class FiguresPlugin(SitePlugin):
    config_class = FiguresConfig
    config: FiguresConfig

    def __init__(self) -> None:
        self.key = ""  # of the code the figures are drawn from, read when the first language starts
        self.store: DiskCache | None = None
        self.drawing: tuple[subprocess.Popen[str], Path, str] | None = None  # process, its folder, its key
        self.sizes: dict[str, tuple[int, int]] = {}  # "chapter/name.theme.svg" -> size, in this language
        self.image = re.compile("$^")

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self._stop_drawing()

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled or not is_first_language(config):
            return config  # the other languages use the figures drawn for the first
        folder = re.escape(self.config.folder.strip("/"))
        self.image = re.compile(
            rf'<img (?P<attrs>[^>]*?)src="(?P<src>[^"]*?{folder}/(?P<uri>[^"#]+\.svg)#only-(?:light|dark))"'
        )
        self.store = self.cache(config, "figures")
        self.store.evict()
        self.key = figures_key(self.root(config), self.config.code, Path(config.docs_dir))
        if any(not self.store.path(self._entry(lang), ".json").exists() for lang in build_order(config)):
            self._start_drawing(config)  # drawn while the notebooks run
        return config

    def _entry(self, lang: str) -> str:
        return DiskCache.key(self.key, lang)

    def _start_drawing(self, config: MkDocsConfig) -> None:
        if self.drawing is not None:
            if self.drawing[2] == self.key:
                return  # already drawing this code
            self._stop_drawing()
        out = Path(tempfile.mkdtemp(prefix="attn-figures-"))
        process = subprocess.Popen(
            [sys.executable, "-m", "attn_site.figures", "--out", str(out), "--docs", config.docs_dir],
            cwd=self.root(config),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.drawing = (process, out, self.key)

    def _finish_drawing(self) -> None:
        """Wait for the drawing under way and keep its figures, one cache entry per language."""
        assert self.drawing is not None and self.store is not None
        process, out, key = self.drawing
        self.drawing = None
        try:
            _, errors = process.communicate()
            if process.returncode != 0:
                raise PluginError(f"drawing the figures failed:\n{errors}")
            for lang in sorted(p for p in out.iterdir() if p.is_dir()):
                svgs = {
                    svg.relative_to(lang).as_posix(): svg.read_text(encoding="utf-8") for svg in lang.rglob("*.svg")
                }
                self.store.write_json(DiskCache.key(key, lang.name), svgs)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def _stop_drawing(self) -> None:
        """Stop a drawing no build will wait for (after an error, or at the end of the command)."""
        drawing, self.drawing = self.drawing, None
        if drawing is None:
            return
        process, out, _ = drawing
        if process.poll() is None:
            process.kill()
        process.communicate()
        shutil.rmtree(out, ignore_errors=True)

    def _svgs(self, config: MkDocsConfig, lang: str) -> dict[str, str]:
        assert self.store is not None  # set in on_config
        if self.drawing is not None:
            self._finish_drawing()
        svgs = self.store.read_json(self._entry(lang))
        if svgs is None:  # not drawn yet (or evicted since on_config): draw now
            self._start_drawing(config)
            self._finish_drawing()
            svgs = self.store.read_json(self._entry(lang))
        if not isinstance(svgs, dict):
            raise PluginError(f"the drawing made no figures in {lang!r}")
        return {str(name): str(svg) for name, svg in svgs.items()}

    @event_priority(-300)  # after notebook_outputs (-200) has executed the notebooks, in parallel with the drawing
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return files
        lang = building_language(config)
        prefix = "" if is_first_language(config) else f"{lang}/"  # mkdocs-static-i18n (-100) prefixed the rest
        folder = self.config.folder.strip("/")
        self.sizes.clear()
        for name, svg in sorted(self._svgs(config, lang).items()):
            figure = File.generated(config, f"{folder}/{name}", content=svg)
            figure.dest_uri = f"{prefix}{folder}/{name}"
            files.append(figure)
            size = svg_size(svg)
            if size is not None:
                self.sizes[name] = size
        return files

    @event_priority(-10)  # after the page hooks (0), before the banner (-20) and the glossary links (-30)
    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled:
            return html
        lazy = ' loading="lazy"' if self.config.lazy else ""

        def sized(match: re.Match[str]) -> str:
            size = self.sizes.get(match.group("uri"))
            if size is None or " width=" in f" {match.group('attrs')}":
                return match.group(0)
            return f'<img {match.group("attrs")}width="{size[0]}" height="{size[1]}"{lazy} src="{match.group("src")}"'

        return self.image.sub(sized, html)

    def on_build_error(self, *, error: Exception) -> None:
        self._stop_drawing()

    def on_shutdown(self) -> None:
        self._stop_drawing()
