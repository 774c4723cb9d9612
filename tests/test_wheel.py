"""The reader's wheel: built from the project, it installs beside torch and numpy alone and holds no site code.

The clean environment is a new virtual environment that sees only torch, numpy and what torch itself
requires (linked from this environment through a ``.pth`` file, so nothing is downloaded); the wheel
is installed into it from a local file with ``--no-index``, which fails if it asks for anything else.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_MODULES = sorted(
    p.stem
    for p in (ROOT / "src" / "attn_examples").glob("*.py")
    if not p.name.startswith("_") and p.stem != "triton_flash"
)


def _with_requirements(names: list[str]) -> list[Distribution]:
    """The distributions ``names`` and, recursively, what they require (extras left out)."""
    found: dict[str, Distribution] = {}
    pending = list(names)
    while pending:
        name = re.sub(r"[-_.]+", "-", pending.pop()).lower()
        if name in found:
            continue
        try:
            found[name] = distribution(name)
        except PackageNotFoundError:
            continue  # an optional requirement that this environment lacks
        for requirement in map(Requirement, found[name].requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return list(found.values())


def _link_into(folder: Path, dist: Distribution) -> None:
    """Make ``dist`` (its dist-info folder and its top-level files) importable from ``folder``."""
    site = Path(str(dist.locate_file("")))
    tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
    for top in tops:
        target = folder / top
        if not target.exists() and (site / top).exists():
            target.symlink_to(site / top)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    project = tmp_path_factory.mktemp("project")  # built from a copy: setuptools writes build/ beside the sources
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "src" / "attn_examples", project / "src" / "attn_examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(project),
        ],
        check=True,
    )
    (built,) = out.glob("attn_examples-*.whl")
    return built


def test_the_wheel_holds_the_readers_package_alone(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    modules = {name for name in names if not name.startswith("attn_examples-")}
    assert modules and all(name.startswith("attn_examples/") for name in modules), sorted(modules)
    assert {f"attn_examples/{m}.py" for m in CHAPTER_MODULES} <= modules
    assert {"attn_examples/data/shakespeare.txt", "attn_examples/data/tiny_gpt.pt"} <= modules  # corpus, checkpoint
    site_code = [name for name in modules if re.search(r"attn_site|i18n|figures|plot\.py|\.yml$", name)]
    assert site_code == []


def test_the_wheel_installs_and_imports_beside_torch_and_numpy_alone(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    packages = tmp_path / "torch-and-numpy"
    packages.mkdir()
    for dist in _with_requirements(["torch", "numpy"]):
        _link_into(packages, dist)
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "torch-and-numpy.pth").write_text(f"{packages}\n", encoding="utf-8")

    # the new environment's own setuptools (Python < 3.12) would hide the newer one torch asks for
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "setuptools"], check=False)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", str(wheel)], check=True)
    imports = "; ".join(f"import attn_examples.{m}" for m in CHAPTER_MODULES)
    check = (
        f"{imports}; import importlib.util as u; "
        "assert u.find_spec('attn_site') is None; assert u.find_spec('mkdocs') is None; "
        "from attn_examples.gpt import corpus, load_checkpoint; load_checkpoint(); corpus()"
    )
    subprocess.run([str(python), "-c", check], check=True, cwd=tmp_path)
