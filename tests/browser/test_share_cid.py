"""The share page's CID check (``static/share/cid.js``) agrees with ``osp.content``, and
its SHA-1/SHA-256 for insecure contexts (``digest.js``) agree with ``hashlib``.

cid.js runs under Node 20 (ES modules, ``crypto.subtle``) over files around the chunk
boundaries of every import profile and a real music file; each CID must equal the
Python importer's.  The mismatch and "cannot check here" paths are checked too.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from osp.content.unixfs import PROFILES, MiB, cid_of_file
from tests.conftest import need

HERE = Path(__file__).resolve().parent
HELPER = HERE.parent / "js" / "share_cid.mjs"
CID_JS = HERE.parent.parent / "src" / "osp" / "apps" / "web" / "static" / "share" / "cid.js"
SIZES = [0, 1, MiB - 1, MiB, MiB + 1, 5 * MiB + 3]

pytestmark = pytest.mark.interop


def run_cid_js(jobs: list[dict[str, object]]) -> list[dict[str, str | None]]:
    need(shutil.which("node") is not None, "node")
    proc = subprocess.run(["node", str(HELPER), str(CID_JS)], input=json.dumps(jobs), capture_output=True,
                          text=True, timeout=50, check=False)
    assert proc.returncode == 0, proc.stderr
    result: list[dict[str, str | None]] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> list[Path]:
    tmp = tmp_path_factory.mktemp("cidjs")
    rng = random.Random(9)
    paths = []
    for size in SIZES:
        path = tmp / f"f{size}"
        path.write_bytes(rng.randbytes(size))
        paths.append(path)
    return [*paths, music[0]]


def test_cid_js_matches_the_python_importer_for_every_profile(files: list[Path]) -> None:
    jobs: list[dict[str, object]] = [{"path": str(p), "profile": name, "blob": i % 2 == 0}
                                     for name in PROFILES for i, p in enumerate(files)]
    results = run_cid_js(jobs)
    expected = [str(cid_of_file(Path(str(job["path"])), str(job["profile"]))) for job in jobs]
    assert [r["computed"] for r in results] == expected
    per_profile = len(files)
    for start in range(0, len(expected), per_profile):  # within a profile, every case is a different DAG
        assert len(set(expected[start:start + per_profile])) == per_profile
    assert files[-1].stat().st_size > MiB  # the music file has parents too


def test_cid_js_reports_a_mismatch_and_what_it_cannot_check(files: list[Path]) -> None:
    small, music = files[2], files[-1]
    right = str(cid_of_file(music))
    forged = str(cid_of_file(small))
    results = run_cid_js([
        {"path": str(music), "profile": "unixfs-v1-2025", "expect": right},
        {"path": str(music), "profile": "unixfs-v1-2025", "expect": forged, "blob": True},
        {"path": str(music), "profile": "no-such-profile", "expect": right},
        {"path": str(music), "profile": "__proto__", "expect": right},
        {"path": str(music), "profile": "unixfs-v1-2025", "expect": right, "noSubtle": True},
    ])
    assert [r["status"] for r in results] == ["match", "mismatch", "cannot", "cannot", "cannot"]
    assert results[1]["computed"] == right
    assert "unknown CID profile" in str(results[2]["reason"])
    assert "secure context" in str(results[4]["reason"])


def test_digest_js_agrees_with_hashlib(tmp_path: Path, files: list[Path]) -> None:
    rng = random.Random(1)
    paths = []
    for size in (55, 56, 63, 64, 65, 119, 120):  # around the padding boundaries
        path = tmp_path / f"d{size}"
        path.write_bytes(rng.randbytes(size))
        paths.append(path)
    paths += files
    jobs: list[dict[str, object]] = [{"path": str(p), "digest": algo} for p in paths for algo in ("SHA-1", "SHA-256")]
    results = run_cid_js(jobs)
    expected = [hashlib.new(str(job["digest"]).replace("-", "").lower(), Path(str(job["path"])).read_bytes()).hexdigest()
                for job in jobs]
    assert [r["computed"] for r in results] == expected
