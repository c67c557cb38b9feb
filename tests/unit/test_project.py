"""Project-wide rules: layering, one libtorrent importer, documented settings, CLI help."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

from osp.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_layers_point_downward() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_libtorrent_is_imported_in_one_module() -> None:
    users = [p.relative_to(ROOT).as_posix() for p in (ROOT / "src").rglob("*.py")
             if re.search(r"^\s*(import|from)\s+libtorrent", p.read_text(), re.M)]
    assert users and all(u.startswith("src/osp/distribution/engine/") for u in users), users


def test_c2pa_is_imported_in_one_module() -> None:
    users = [p.relative_to(ROOT).as_posix() for p in (ROOT / "src").rglob("*.py")
             if re.search(r"^\s*(import|from)\s+c2pa\b", p.read_text(), re.M)]
    assert users == ["src/osp/provenance/c2pa.py"], users


def test_every_setting_is_documented() -> None:
    doc = Settings.__doc__ or ""
    missing = [f.name for f in dataclasses.fields(Settings) if f"{f.name}:" not in doc]
    assert missing == []


def test_readme_mentions_every_cli_command() -> None:
    from osp.apps.cli.main import cli

    readme = (ROOT / "README.md").read_text()
    missing = [name for name in cli.commands if f"osp {name}" not in readme]
    assert missing == []


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    run = lambda *a: subprocess.run([sys.executable, "-m", "osp", "--data-dir", str(tmp_path), *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    proc = run("id", "show")
    assert proc.returncode == 2 and "osp id init" in proc.stderr and "Traceback" not in proc.stderr
    assert run("id", "init").returncode == 0
    again = run("id", "init")
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    (tmp_path / "identity" / "key.pem").chmod(0o644)
    proc = run("id", "show", "--json")
    assert proc.returncode == 2 and "readable by others" in proc.stderr
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"OggS" + bytes(100))
    (tmp_path / "identity" / "key.pem").chmod(0o600)
    proc = run("publish", str(junk))
    assert proc.returncode == 2 and "junk.ogg" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("resolve", "osp:track:bagaaieranotthere")
    assert proc.returncode == 2 and "--peer" in proc.stderr


def test_spec_lists_every_peer_route() -> None:
    from osp.apps.http.peer import peer_app
    from osp.core.settings import Settings
    from osp.node import Node

    spec = (ROOT / "spec" / "osp-v0.1.md").read_text()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        node = Node(Settings(data_dir=Path(tmp)))
        try:
            paths = [route.path for route in peer_app(node).routes]  # type: ignore[attr-defined]
        finally:
            node.close()
    missing = [p for p in paths if p.split("{")[0].rstrip("/") not in spec]
    assert missing == []
