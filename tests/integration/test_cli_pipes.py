"""The CLI at its edges: closed pipes (issue 6 item 6) and the README's demo script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from tests.integration.nodes import OSP, osp

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def big_library(tmp_path_factory: pytest.TempPathFactory, music: list[Path],
                audio_files: dict[str, Path]) -> Path:
    """A data directory whose library holds 9 tracks (3 full pieces, 6 excerpts)."""
    data = tmp_path_factory.mktemp("big-library")
    osp(data, "id", "init")
    osp(data, "publish", *map(str, music), timeout=120)
    for fmt, path in audio_files.items():  # one title per format: distinct tracks
        osp(data, "publish", str(path), "--title", f"Excerpt {fmt}", timeout=120)
    return data


def _pipeline(command: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OSP_DATA_DIR": str(data), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True,
                          timeout=60, env=env)


def test_ls_json_into_head_exits_quietly(big_library: Path) -> None:
    osp_cmd = " ".join(OSP)
    assert len(osp(big_library, "ls", "--json").stdout.splitlines()) == 9
    for _ in range(20):
        proc = _pipeline(f"{osp_cmd} ls --json | head -n 1", big_library)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert proc.stdout.startswith('{"id":"osp:track:')
    proc = _pipeline(f"{osp_cmd} ls | head -n 1", big_library)
    assert proc.returncode == 0 and proc.stderr == ""


def test_cid_of_many_files_into_head_exits_quietly(tmp_path: Path) -> None:
    files = []
    for i in range(40):
        f = tmp_path / f"f{i:02d}.bin"
        f.write_bytes(os.urandom(1000) * (i + 1))
        files.append(str(f))
    osp_cmd = " ".join(OSP)
    for args in ("cid", "cid --json"):
        for _ in range(5):
            proc = _pipeline(f"{osp_cmd} {args} {' '.join(files)} | head -n 1", tmp_path / "data")
            assert proc.returncode == 0 and proc.stderr == "", proc.stderr
            assert len(proc.stdout.splitlines()) == 1


def test_stdout_that_fails_otherwise_is_still_an_error(tmp_path: Path) -> None:
    """Only a closed pipe is quiet: a full disk (/dev/full) still reports exit 3."""
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 1000)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*OSP, "cid", str(f)], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 3 and "No space left" in proc.stderr


def _fake_checkout(tmp: Path) -> Path:
    """demo.sh in a copy of the repo layout whose install steps are no-ops (the shared .venv stays as is)."""
    root = tmp / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "demo.sh", root / "scripts" / "demo.sh")
    for name in ("system-packages.sh", "install.sh"):
        (root / "scripts" / name).write_text("#!/usr/bin/env bash\nexit 0\n")
    (root / ".venv" / "bin").mkdir(parents=True)
    wrapper = root / ".venv" / "bin" / "osp"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT / 'src'} exec {sys.executable} -m osp \"$@\"\n")
    wrapper.chmod(0o755)
    return root


def _node_pid(data: Path) -> int | None:
    try:
        return int(json.loads((data / "node.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def test_demo_script_starts_a_node_every_time(tmp_path: Path, music: list[Path], audio_files: dict[str, Path]) -> None:
    root = _fake_checkout(tmp_path)
    data = tmp_path / "node-a"
    env = {**os.environ, "OSP_DATA_DIR": str(data), "OSP_HTTP": "127.0.0.1:0", "OSP_CONTROL": "127.0.0.1:0",
           "OSP_LISTEN": "127.0.0.1:0"}
    for run in range(3):
        if run == 1:  # a fourth track, as the demo suggests: the listing outgrows a pipe's first read
            osp(data, "publish", str(audio_files["opus"]), "--title", "My Song")
        proc = subprocess.Popen(["bash", str(root / "scripts" / "demo.sh"), "--no-dht"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        lines: list[str] = []
        ready = threading.Event()

        def read(stream: IO[str], lines: list[str] = lines, ready: threading.Event = ready) -> None:
            for line in stream:
                lines.append(line)
                if line.startswith("Ctrl-C stops the node."):
                    ready.set()
            ready.set()  # end of output: the script died

        assert proc.stdout is not None
        reader = threading.Thread(target=read, args=(proc.stdout,), daemon=True)
        reader.start()
        try:
            assert ready.wait(90), "demo.sh printed no commands within 90 s"
            assert proc.poll() is None, f"demo.sh died (exit {proc.returncode}): {proc.stderr.read() if proc.stderr else ''}"
            assert _node_pid(data) is not None, "the node wrote no node.json"
        finally:
            os.killpg(proc.pid, 15)
            _, err = proc.communicate(timeout=60)
            reader.join(10)
        out = "".join(lines)
        assert "osp-node demo: " in out and "osp --data-dir /tmp/node-b resolve osp:track:" in out, out + err
        assert proc.returncode == 143, (proc.returncode, err)
        assert "error" not in err.lower(), err
