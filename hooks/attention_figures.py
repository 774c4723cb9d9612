"""Draw the guide's figures at build time, from the code in ``src/``, in the language being built.

Pages show a figure as two images, ``figures/<chapter>/<name>.light.svg#only-light`` and
``….dark.svg#only-dark`` (Material shows the one of the reader's colour scheme). No image is
committed: ``python -m attn_site.figures`` draws every figure in every language into
``.cache/figures/<key>/``, where the key hashes ``src/``, ``attn-site/src/`` and the plotting library's version, so
an edit to the code redraws them and nothing stale is served. It runs in a subprocess, started
when the build starts and waited for once the notebooks have run, so that the two overlap and,
under ``mkdocs serve``, the edited code is the one that draws. Each language's build then adds
its own SVGs under its own prefix (``figures/…`` for English, ``it/figures/…`` for Italian),
and gives each ``<img>`` of a figure the SVG's width and height, so that the page keeps the
figure's place while it loads instead of shifting the text below it, and ``loading="lazy"``:
figures are far down the pages, and fetching them early delays what the reader sees first.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from attn_site.i18n import build_order

CACHE = Path(".cache") / "figures"
COMPLETE = ".complete"
_SVG_SIZE = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"')
_FIGURE_IMG = re.compile(r'<img (?P<attrs>[^>]*?)src="(?P<src>[^"]*?figures/(?P<uri>[^"#]+\.svg)#only-(?:light|dark))"')
_sizes: dict[str, tuple[int, int]] = {}  # "chapter/name.theme.svg" -> its size in CSS pixels
_drawing: tuple[subprocess.Popen, Path, Path] | None = None  # the drawing under way: process, its folder, the final one
KEEP = 3


def _key(root: Path) -> str:
    digest = hashlib.sha256(f"matplotlib {version('matplotlib')}\0".encode())
    code = [*(root / "src").rglob("*"), *(root / "attn-site" / "src").rglob("*")]  # the chapters', and the drawing's
    for path in sorted(p for p in code if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def _start_drawing(root: Path) -> None:
    """Start drawing the figures of the current ``src/`` in a subprocess, unless they are drawn already."""
    global _drawing
    folder = root / CACHE / _key(root)
    if (folder / COMPLETE).exists() or _drawing is not None:
        return
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.partial")
    process = subprocess.Popen(
        [sys.executable, "-m", "attn_site.figures", "--out", str(partial)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _drawing = (process, partial, folder)


def _drawn(root: Path) -> Path:
    """The folder of the figures for the current ``src/``, waiting for them to be drawn if needed."""
    global _drawing
    _start_drawing(root)
    if _drawing is None:
        return root / CACHE / _key(root)
    process, partial, folder = _drawing
    _drawing = None
    _, errors = process.communicate()
    if process.returncode != 0:
        raise PluginError(f"drawing the figures failed:\n{errors}")
    (partial / COMPLETE).touch()
    try:
        partial.rename(folder)
    except OSError:  # another build drew them at the same time
        shutil.rmtree(partial, ignore_errors=True)
    drawn = sorted((p for p in (root / CACHE).iterdir() if (p / COMPLETE).exists()), key=lambda p: p.stat().st_mtime)
    for old in drawn[:-KEEP]:  # figures of earlier versions of src/ (a build still running may use the last ones)
        shutil.rmtree(old, ignore_errors=True)
    return folder


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    _start_drawing(Path(config.config_file_path).parent)  # drawn while the notebooks run
    return config


@event_priority(-300)  # after notebook_outputs.py has executed the notebooks, in parallel with the drawing
def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    lang = config.theme["language"]
    prefix = "" if lang == build_order(config)[0] else f"{lang}/"
    folder = _drawn(root) / lang
    _sizes.clear()
    for svg in sorted(folder.rglob("*.svg")):
        uri = "figures/" + svg.relative_to(folder).as_posix()
        figure = File.generated(config, uri, abs_src_path=str(svg))
        figure.dest_uri = prefix + uri
        files.append(figure)
        with svg.open(encoding="utf-8") as f:
            size = _SVG_SIZE.search(f.read(2048))
        if size:  # matplotlib writes points; a CSS pixel is 3/4 of a point
            width, height = (round(float(v) * 4 / 3) for v in size.groups())
            _sizes[svg.relative_to(folder).as_posix()] = width, height
    return files


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def sized(match: re.Match[str]) -> str:
        size = _sizes.get(match.group("uri"))
        if size is None or " width=" in f" {match.group('attrs')}":
            return match.group(0)
        return (
            f'<img {match.group("attrs")}width="{size[0]}" height="{size[1]}" loading="lazy" src="{match.group("src")}"'
        )

    return _FIGURE_IMG.sub(sized, html)
