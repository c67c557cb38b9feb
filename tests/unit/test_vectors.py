"""The node against spec/vectors (OSP v0.1 test vectors), and the vectors against their generator."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from osp.content.testdata import chacha_stream
from osp.content.unixfs import import_stream
from osp.core.errors import IntegrityError
from osp.discovery.feed import FeedValue, catalog_decode, expanded_secret, signing_bytes, verify_item
from osp.discovery.keys import STOP_WORDS, record_keys, rendezvous_key, title_words
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


def _rendezvous() -> dict[str, Any]:
    return json.loads((VECTORS / "rendezvous.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("vector", load("rendezvous.json"), ids=lambda v: f"{v['kind']}-{v['normalized'][:12]}")
def test_rendezvous_key_vectors(vector: dict[str, Any]) -> None:
    key = rendezvous_key(vector["kind"], vector["value"])
    assert key.value == vector["normalized"] and key.hex == vector["key"]
    assert hashlib.sha1(f"osp/v0/{vector['kind']}:{vector['normalized']}".encode()).hexdigest() == vector["key"]


def test_title_word_and_record_key_vectors() -> None:
    data = _rendezvous()
    assert sorted(STOP_WORDS) == data["stopWords"]
    for case in data["titles"]:
        assert title_words(case["title"]) == case["words"]
        assert [rendezvous_key("word", w).hex for w in case["words"]] == case["keys"]
    record = data["record"]
    assert [{"kind": k.kind, "value": k.value, "key": k.hex} for k in record_keys(record["record"])] == record["keys"]


@pytest.mark.parametrize("vector", load("feed.json"), ids=lambda v: str(v["seq"]))
def test_feed_vectors(vector: dict[str, Any]) -> None:
    key = SigningKey.from_seed(bytes.fromhex(vector["seed"]))
    assert key.public_key.hex() == vector["publicKey"] and key.did == vector["did"]
    assert expanded_secret(key.seed).hex() == vector["expandedSecret"]
    tracks = catalog_decode(vector["catalog"].encode(), key.did)
    assert [jcs(t.record) + b"\n" for t in tracks] == [vector["catalog"].encode()]
    value = FeedValue.decode(vector["value"].encode())
    assert value.catalog == vector["catalogInfohash"] and value.seq == vector["seq"]
    message = signing_bytes(vector["salt"].encode(), vector["seq"], vector["value"].encode())
    assert message.hex() == vector["signingBytes"]
    assert key.sign(message).hex() == vector["signature"]
    assert verify_item(key.public_key, vector["salt"].encode(), vector["seq"], vector["value"].encode(),
                       bytes.fromhex(vector["signature"]))
