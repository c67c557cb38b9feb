"""Ctrl-C ends ``osp`` quietly at any moment: "interrupted" on stderr, exit status 130, never a
traceback — while the commands load (a second or more: the node and its HTTP faces are
imported before any handler of a command exists) and in the middle of ``osp import``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MUSIC_DIR, need
from tests.integration.nodes import OSP, osp, sigint_default


def interrupt_when(command: list[str], mark: str, *, deadline: float = 45) -> tuple[int, str]:
    """Run ``command``, send SIGINT once ``mark`` shows on its stderr; (exit status, stderr)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OSP_DATA_DIR", None)
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
                            preexec_fn=sigint_default)
    assert proc.stderr is not None
    seen: list[str] = []
    end = time.monotonic() + deadline
    try:
        for line in proc.stderr:
            seen.append(line)
            if mark in line:
                proc.send_signal(signal.SIGINT)
                break
            assert time.monotonic() < end, f"no {mark!r} within {deadline} s"
        else:
            raise AssertionError(f"ended before {mark!r}: {''.join(seen)[-2000:]}")
        rest = proc.communicate(timeout=deadline)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(seen) + rest


#: ``python -c``: runs ``osp ARGS…`` (``python -m osp``) but sends itself SIGINT the moment the
#: import of MODULE begins — Ctrl-C at a known point of start-up, deterministically
AT_IMPORT = """
import os, runpy, signal, sys
module, sys.argv = sys.argv[1], ["osp", *sys.argv[2:]]
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Interrupt())
runpy.run_module("osp", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("module", ["osp.node.core", "osp.apps.http.control", "osp.apps.cli.social_cmds"])
def test_ctrl_c_while_the_commands_load(tmp_path: Path, module: str) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-c", AT_IMPORT, module, "--data-dir", str(tmp_path), "ls"],
                          capture_output=True, text=True, env=env, timeout=60, preexec_fn=sigint_default)
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr == "interrupted\n" and proc.stdout == ""


def test_ctrl_c_during_import(tmp_path: Path) -> None:
    need(MUSIC_DIR.is_dir(), "frozen-bubble-data")
    folder = tmp_path / "music"
    shutil.copytree(MUSIC_DIR, folder)
    data = tmp_path / "data"
    osp(data, "id", "init")
    status, err = interrupt_when([*OSP, "--data-dir", str(data), "import", str(folder)], "published:")
    assert status == 130 and "Traceback" not in err and "interrupted" in err, err[-3000:]
