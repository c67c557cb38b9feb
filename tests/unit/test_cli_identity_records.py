"""CLI faces of issue 6 items 2, 5 (records), 10 (dates, key exit code) and `id show`:
hostile record files exit 5 with one line and no traceback; a corrupt key exits 3; the
public DID shows without the passphrase."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from osp.records import jcs
from tests.unit.test_records import forged_small_order_record


def osp(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k not in ("OSP_PASSPHRASE", "OSP_DEBUG")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "osp", "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, timeout=60, env=full_env)


@pytest.mark.parametrize("name,content", [
    ("small-order.json", jcs(forged_small_order_record("01" + "00" * 31))),
    ("deep.json", b"[" * 32000 + b"]" * 32000),
    ("deep-object.json", b'{"a":' * 12000 + b"1" + b"}" * 12000),
    ("bigint.json", b'{"size": ' + b"9" * 5000 + b"}"),
])
def test_resolve_of_a_hostile_record_file_exits_5(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    proc = osp(tmp_path, "resolve", str(path))
    assert proc.returncode == 5, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "verified" not in proc.stdout


def test_corrupt_key_exits_3_and_id_show_needs_no_passphrase(tmp_path: Path) -> None:
    secret = tmp_path / "pass"
    secret.write_text("correct horse\n")
    init = osp(tmp_path, "--passphrase-file", str(secret), "id", "init", "--json")
    assert init.returncode == 0, init.stderr
    did = json.loads(init.stdout)["did"]
    shown = osp(tmp_path, "id", "show", "--json")  # no passphrase given
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["did"] == did
    key = tmp_path / "data" / "identity" / "key.pem"
    (tmp_path / "data" / "identity" / "did").unlink()  # an old keystore: falls back to the passphrase
    proc = osp(tmp_path, "id", "show")
    assert proc.returncode == 2 and "encrypted" in proc.stderr
    proc = osp(tmp_path, "--passphrase-file", str(secret), "id", "show")
    assert proc.returncode == 0 and did in proc.stdout
    key.write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n%%%%\n-----END ENCRYPTED PRIVATE KEY-----\n")
    (tmp_path / "data" / "identity" / "did").unlink()  # so that `id show` reads the key
    proc = osp(tmp_path, "--passphrase-file", str(secret), "id", "show")
    assert proc.returncode == 3 and "corrupt" in proc.stderr and "Traceback" not in proc.stderr


def test_publish_with_an_impossible_release_date_is_a_caller_error(tmp_path: Path, music: list[Path]) -> None:
    assert osp(tmp_path, "id", "init").returncode == 0
    proc = osp(tmp_path, "publish", str(music[0]), "--released", "2024-13-45")
    assert proc.returncode == 2, proc.stderr
    assert "released" in proc.stderr and "2024-13-45" in proc.stderr and "calendar date" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any((tmp_path / "data" / "media").glob("*.ogg"))
