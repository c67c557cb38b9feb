"""The built wheel carries the whole web app (issue 9: a ``pip install`` serves it with no npm)."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "src" / "osp" / "apps" / "web" / "static" / "app"


def _setuptools_version() -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2] if p.isdigit())
    except importlib.metadata.PackageNotFoundError:
        return ()


def test_the_wheel_contains_the_web_app(tmp_path: Path) -> None:
    if _setuptools_version() < (77,):  # pyproject's build-system needs it; offline we cannot fetch it
        pytest.skip("setuptools >= 77 is not installed: the wheel cannot be built offline")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-w", str(tmp_path / "out"), str(tree)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    (wheel,) = (tmp_path / "out").glob("osp_node-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "osp/apps/web/static/app/index.html" in names
    shipped = {f"osp/apps/web/static/app/{p.relative_to(APP).as_posix()}" for p in APP.rglob("*")
               if p.is_file() and not p.name.startswith(".")}
    assert shipped and shipped <= names, sorted(shipped - names)
    assert any(n.endswith(".js") for n in shipped) and any(n.endswith(".css") for n in shipped)
