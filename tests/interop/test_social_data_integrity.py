"""Social records (spec §10) against Digital Bazaar's Data Integrity stack: it verifies the
social vectors in JSON-LD safe mode (every term defined by our context), we verify what it
signs, and a tampered record fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from osp.records import build_social, verify_social
from osp.records.envelope import content_id
from osp.records.track import CONTEXT_URL, DATA_INTEGRITY_CONTEXT
from tests.interop.test_data_integrity import CREATED, KEY, SEED, js

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "spec" / "vectors" / "social-records.json").read_text())
OSP = "https://w3id.org/osp/v0.1#"


def test_digital_bazaar_verifies_every_social_vector() -> None:
    for vector in VECTORS["valid"]:
        assert js({"op": "verify", "record": vector["signed"]}) == {"verified": True, "error": None}, vector["kind"]
    tampered = {**VECTORS["valid"][0]["signed"], "title": "Someone else's list"}
    assert js({"op": "verify", "record": tampered})["verified"] is False


def test_every_social_term_expands_in_safe_mode() -> None:
    expanded: dict[str, Any] = {}
    for vector in VECTORS["valid"]:
        result = js({"op": "expand", "record": vector["signed"]})
        assert result["error"] is None, (vector["kind"], result["error"])
        expanded[vector["kind"]] = result["expanded"][0]
    playlist = expanded["playlist"]
    assert playlist["@type"] == [OSP + "Playlist"]
    (tracks,) = playlist[OSP + "tracks"]  # ordered, repeats kept: a JSON-LD list
    assert [t["@id"] for t in tracks["@list"]] == [OSP + t.removeprefix("osp:")
                                                   for t in VECTORS["valid"][0]["signed"]["tracks"]]
    assert playlist[OSP + "seq"][0]["@value"] == 3
    assert expanded["flag"][OSP + "flagReason"] == [{"@value": "duplicate"}]
    assert "https://schema.org/author" in expanded["like"]
    # a member our context lacks is refused in safe mode (the check can fail)
    odd = {**VECTORS["valid"][2]["signed"], "mood": "happy"}
    assert js({"op": "expand", "record": odd})["error"] is not None


def test_we_verify_social_records_digital_bazaar_signs() -> None:
    body = build_social("comment", KEY.did, {"subject": VECTORS["valid"][2]["signed"]["subject"], "text": "hi",
                                             "at": 12.5})
    body = {**body, "@context": [CONTEXT_URL, DATA_INTEGRITY_CONTEXT], "created": CREATED}
    record = {**body, "id": content_id("osp:comment:", body)}
    signed = js({"op": "sign", "record": record, "seed": SEED.hex(), "created": CREATED})["signed"]
    assert verify_social(signed).id == record["id"]
