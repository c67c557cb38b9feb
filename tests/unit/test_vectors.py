"""The node against spec/vectors (OSP v0.1 test vectors), and the vectors against their generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from osp.content.testdata import chacha_stream
from osp.content.unixfs import import_stream
from osp.core.errors import IntegrityError
from osp.identity import SigningKey, did_document
from osp.records import derive_id, jcs, strict_loads, verify_track

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "spec" / "vectors"


def load(name: str) -> list[dict[str, Any]]:
    return json.loads((VECTORS / name).read_text())["vectors"]  # type: ignore[no-any-return]


def test_vectors_are_what_the_generator_makes() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_vectors.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("vector", load("did-key.json"), ids=lambda v: v["name"])
def test_did_key_vectors(vector: dict[str, Any]) -> None:
    key = SigningKey.from_seed(bytes.fromhex(vector["seed"]))
    assert key.public_key.hex() == vector["publicKey"] and key.did == vector["did"]
    assert did_document(key.did) == vector["didDocument"]


@pytest.mark.parametrize("vector", load("cid.json"), ids=lambda v: f"{v['profile']}-{v['size']}")
def test_cid_vectors(vector: dict[str, Any]) -> None:
    assert str(import_stream(chacha_stream(vector["seed"], vector["size"]), vector["profile"])) == vector["cid"]


@pytest.mark.parametrize("vector", load("records.json"), ids=lambda v: v["id"][-8:])
def test_record_vectors(vector: dict[str, Any]) -> None:
    assert jcs(vector["unsigned"]).decode() == vector["jcs"]
    assert derive_id(vector["unsigned"]) == vector["id"] == vector["signed"]["id"]
    assert verify_track(vector["signed"]).id == vector["id"]
    key = SigningKey.from_seed(bytes.fromhex(vector["keySeed"]))
    assert vector["signed"]["artist"] == key.did


@pytest.mark.parametrize("vector", load("invalid-records.json"), ids=lambda v: v["description"][:40])
def test_invalid_record_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError) as exc:
        verify_track(strict_loads(vector["json"]) if "json" in vector else vector["record"])
    assert exc.value.check == vector["error"]
