"""Our UnixFS importer against the JavaScript reference importers (npm), same bytes.

Reference peers: ``ipfs-unixfs-importer`` 17.1.1 (profiles and custom chunk/fan-out
shapes) and ``@helia/unixfs`` 8.0.5 (its defaults are ``unixfs-v1-2025``).  Inputs come
from the ChaCha20 generator that kubo/boxo fixtures use.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from osp.content.testdata import chacha_stream
from osp.content.unixfs import PROFILES, Profile, import_stream
from tests.conftest import need

JS = Path(__file__).resolve().parents[1] / "js"
KiB, MiB = 1024, 1024 * 1024


def js_cids(cases: list[dict[str, Any]], timeout: float = 600) -> list[str]:
    need(shutil.which("node") is not None, "node")
    need((JS / "node_modules" / "ipfs-unixfs-importer").exists(), "tests/js node_modules (npm ci)")
    proc = subprocess.run(["node", str(JS / "unixfs_cids.mjs")], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def ours(case: dict[str, Any]) -> str:
    if "profile" in case:
        profile = PROFILES[case["profile"]]
    else:
        profile = Profile("custom", case["cidVersion"], case["rawLeaves"], case["chunkSize"], case["maxLinks"])
    return str(import_stream(chacha_stream(case["seed"], case["size"]), profile))


def boundaries(chunk: int, links: int) -> list[int]:
    sizes = {0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk + 7, links * chunk - 1, links * chunk, links * chunk + 1}
    return sorted(s for s in sizes if s >= 0)


def test_small_shapes_match_js_importer() -> None:
    """Every depth of the balanced tree, raw and wrapped leaves, CIDv0 and v1."""
    cases = []
    for version, raw in ((1, True), (0, False), (1, False)):
        for size in sorted({*boundaries(1024, 4), 16 * 1024 + 1, 64 * 1024, 64 * 1024 + 1, 70000}):
            cases.append({"seed": f"shape-{size}", "size": size, "chunkSize": 1024, "maxLinks": 4,
                          "cidVersion": version, "rawLeaves": raw})
    assert [ours(c) for c in cases] == js_cids(cases)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_profiles_match_js_importer(profile: str) -> None:
    p = PROFILES[profile]
    sizes = [s for s in boundaries(p.chunk_size, p.max_links) if s <= 48 * MiB] + [3 * MiB + 17]
    cases = [{"seed": f"{profile}-{size}", "size": size, "profile": profile} for size in sizes]
    assert [ours(c) for c in cases] == js_cids(cases)


def test_helia_unixfs_defaults_are_unixfs_v1_2025() -> None:
    cases = [{"seed": "helia", "size": s, "impl": "helia"} for s in (0, 5, MiB, MiB + 1, 5 * MiB + 3)]
    expected = js_cids(cases)
    assert [ours({**c, "profile": "unixfs-v1-2025"}) for c in cases] == expected


@pytest.mark.slow
def test_large_file_crosses_the_1024_link_boundary() -> None:
    """1 GiB + 1 byte: the first unixfs-v1-2025 file whose root is two levels up."""
    case = {"seed": "big", "size": 1024 * MiB + 1, "profile": "unixfs-v1-2025"}
    assert [ours(case)] == js_cids([case], timeout=900)


@pytest.mark.slow
def test_200_mib_file_in_the_kubo_profile() -> None:
    case = {"seed": "big-kubo", "size": 200 * MiB + 12345, "profile": "kubo-cidv1-256k-174"}
    assert [ours(case)] == js_cids([case], timeout=900)


def test_spec_cid_vectors_match_js_importer() -> None:
    """spec/vectors/cid.json is what the reference importer computes, profile by profile."""
    vectors = json.loads((JS.parent.parent / "spec" / "vectors" / "cid.json").read_text())["vectors"]
    cases = [{"seed": v["seed"], "size": v["size"], "profile": v["profile"]} for v in vectors]
    assert js_cids(cases) == [v["cid"] for v in vectors]
