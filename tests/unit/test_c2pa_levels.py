"""The levels of "verified AI-generated" (osp.provenance.levels), the stored results
(osp.library.credentials) and the background step and publish stage (osp.node.credentials)
on a real library, real files and a test CA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from osp.core.errors import CallerError
from osp.core.settings import Settings
from osp.identity import SigningKey
from osp.library import Library
from osp.library.credentials import Credentials
from osp.node.core import Node
from osp.node.credentials import PublishCredential, c2pa_store, credential_view
from osp.node.publish import TrackMetadata, publish_file
from osp.provenance.c2pa import read_credential
from osp.provenance.levels import compare, credential_levels
from tests.c2pa_ca import make_ca

KEY = SigningKey.from_seed(bytes(range(32)))


def _cred(state: str, term: str | None = "trainedAlgorithmicMedia", agent: str | None = "Suno") -> dict[str, Any]:
    return {"state": state, "message": f"{state} credential", "signer": "Good Signer", "digitalSourceType": term,
            "softwareAgent": agent}


def test_compare_lists_contradictions_only() -> None:
    ai = {"aiGenerated": True, "digitalSourceType": "trainedAlgorithmicMedia", "generator": {"name": "suno"}}
    assert compare(ai, _cred("trusted")) == []  # generator names compare without case
    human = {"aiGenerated": False, "generator": "Logic Pro"}
    found = compare(human, _cred("valid"))
    assert "the record says human-made; the credential says trainedAlgorithmicMedia" in found
    assert any("'Logic Pro'" in m and "'Suno'" in m for m in found)
    assert compare({"digitalSourceType": "compositeWithTrainedAlgorithmicMedia"}, _cred("valid", agent=None)) == [
        "the record says compositeWithTrainedAlgorithmicMedia; the credential says trainedAlgorithmicMedia"]
    assert compare({"aiGenerated": True}, _cred("valid", "digitalCapture", None)) == [
        "the record says AI-generated; the credential says digitalCapture"]
    assert compare(human, _cred("absent")) == [] and compare(human, None) == [] and compare(None, _cred("valid")) == []


def test_levels_say_what_each_proves() -> None:
    record = {"provenance": {"aiGenerated": True, "generator": "Suno"}}
    levels = credential_levels(record, _cred("trusted"))
    assert [(lv["name"], lv["status"], lv["met"]) for lv in levels["levels"]] == [
        ("declaration", "signed", True), ("credential", "valid", True), ("trustList", "trusted", True),
        ("webOfTrust", "unknown", False)]
    assert all(lv["proves"] and lv["doesNotProve"] for lv in levels["levels"])
    assert "how the audio was made" in levels["levels"][1]["doesNotProve"]
    assert levels["aiGenerated"] == {"declared": True, "credential": True}
    untrusted = credential_levels(record, _cred("valid"))
    assert untrusted["levels"][2]["status"] == "untrusted" and not untrusted["levels"][2]["met"]
    invalid = credential_levels(record, _cred("invalid"))
    assert invalid["levels"][1]["status"] == "invalid" and "INVALID" in invalid["summary"]
    assert invalid["aiGenerated"]["credential"] is None  # an invalid credential's claim counts for nothing
    none = credential_levels({}, None)
    assert none["levels"][0]["status"] == "none" and none["levels"][1]["status"] == "unchecked"
    assert "cannot tell" in none["summary"] and none["aiGenerated"] == {"declared": None, "credential": None}
    # level 4 from the artist's standing (osp.node.trust.artist_standing)
    def web(standing: dict[str, object]) -> tuple[str, bool, str]:
        lv = credential_levels(record, None, standing)["levels"][3]
        return lv["status"], lv["met"], lv["says"]

    assert web({"self": False, "relative": 1.5, "hidden": None})[:2] == ("trusted", True)
    assert "1.5× a typical identity" in web({"self": False, "relative": 1.5, "hidden": None})[2]
    assert web({"self": False, "relative": 0.0, "hidden": None})[:2] == ("outside", False)
    status, met, says = web({"self": False, "relative": 2.0, "hidden": {"why": "flagged spam by X", "by": "did:key:x"}})
    assert (status, met) == ("hidden", False) and "flagged spam by X" in says
    assert web({"self": True, "relative": None, "hidden": None})[:2] == ("you", True)
    clash = credential_levels({"provenance": {"aiGenerated": False}}, _cred("trusted"))
    assert clash["mismatches"] and "disagree" in clash["summary"]


def test_stored_results_and_what_is_pending(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    with Library(tmp_path / "library.sqlite3") as lib:
        published = publish_file(audio_files["wav"], TrackMetadata(), key=KEY, library=lib, media_dir=tmp_path / "media")
        cid = published.track.record["cid"]
        creds = Credentials(lib)
        assert [t.cid for t in creds.pending("", 10)] == [cid] and creds.get(cid) is None
        creds.put(cid, {"state": "valid"}, trust="t1", now=1.0, allowed_invalid=False)
        assert creds.pending("t1", 10) == [] and [t.cid for t in creds.pending("t2", 10)] == [cid]
        creds.put(cid, {"state": "invalid"}, trust="t1", now=2.0, allowed_invalid=True)
        assert creds.pending("t2", 10) == []  # an invalid result does not depend on the trust list
        creds.put(cid, {"state": "invalid"}, trust="t2", now=3.0)
        stored = creds.get(cid)
        assert stored is not None and stored.allowed_invalid and stored.checked_at == 3.0  # the mark is kept
        assert stored.to_json() == {"state": "invalid", "allowedInvalid": True, "checkedAt": 3.0}
        assert creds.for_cids([cid, "bafy-none"]) == {cid: stored}
        with pytest.raises(ValueError):
            creds.put(cid, {"state": "valid", "x": "y" * 70_000}, trust="", now=4.0)


def test_publish_stage_signs_a_copy_and_refuses_invalid(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    ca, other = make_ca(tmp_path, "Good"), make_ca(tmp_path, "Other")
    store = c2pa_store(tmp_path / "data")
    store.set_signer(ca.chain, ca.key)
    store.trust_add(ca.root)
    original = audio_files["flac"].read_bytes()
    with Library(tmp_path / "library.sqlite3") as lib:
        meta = TrackMetadata(provenance={"aiGenerated": True, "generator": "Suno"})
        signed = publish_file(audio_files["flac"], meta, key=KEY, library=lib, media_dir=tmp_path / "media",
                              c2pa=PublishCredential(store, sign=True))
        assert audio_files["flac"].read_bytes() == original  # the user's file is never modified
        stored = lib.intact_file(signed.track.record["cid"], tmp_path)
        assert stored is not None
        media = tmp_path / stored.path
        assert read_credential(media, "audio/flac", trust_anchors=store.anchors_pem()).state == "trusted"
        view = credential_view(lib, signed.track.record)
        assert view["c2pa"]["state"] == "trusted" and view["credentials"]["levels"][2]["met"]
        # a credential that fails validation is refused unless allowed, then stored and marked
        bad = tmp_path / "bad.flac"
        data = bytearray(media.read_bytes())
        data[len(data) // 2] ^= 1
        bad.write_bytes(bytes(data))
        with pytest.raises(CallerError, match="--allow-invalid-c2pa"):
            publish_file(bad, meta, key=KEY, library=lib, media_dir=tmp_path / "media", c2pa=PublishCredential(store))
        assert lib.track_count() == 1
        marked = publish_file(bad, meta, key=KEY, library=lib, media_dir=tmp_path / "media",
                              c2pa=PublishCredential(store, allow_invalid=True))
        row = Credentials(lib).get(marked.track.record["cid"])
        assert row is not None and row.state == "invalid" and row.allowed_invalid
        # another CA's manifest is published as valid, not trusted
        other_store = c2pa_store(tmp_path / "other")
        other_store.set_signer(other.chain, other.key)
        theirs = publish_file(audio_files["mp3"], meta, key=KEY, library=lib, media_dir=tmp_path / "media",
                              c2pa=PublishCredential(other_store, sign=True))
        lib_row = Credentials(lib).get(theirs.track.record["cid"])
        assert lib_row is not None and lib_row.state == "valid"


def test_background_step_checks_every_track_and_rechecks_after_trust_changes(
        tmp_path: Path, audio_files: dict[str, Path]) -> None:
    ca = make_ca(tmp_path, "Good")
    node = Node(Settings(data_dir=tmp_path / "data"))
    try:
        node.keystore.create()
        store = c2pa_store(node.settings.data_dir)
        store.set_signer(ca.chain, ca.key)
        signed_copy = tmp_path / "signed.m4a"
        from osp.provenance.c2pa import sign_file

        sign_file(audio_files["m4a"], signed_copy, "audio/mp4", chain_pem=ca.chain.read_bytes(),
                  key_pem=ca.key.read_bytes(), title="t", provenance={"aiGenerated": True})
        ids = {}
        for name, path in (("signed", signed_copy), ("ogg", audio_files["ogg"]), ("plain", audio_files["wav"])):
            ids[name] = publish_file(path, TrackMetadata(), key=node.signing_key(), library=node.library,
                                     media_dir=node.settings.media_dir).track.record  # no C2PA stage: as fetched
        assert node.jobs.run_pending(only=["c2pa"]) == 3
        states = {k: Credentials(node.library).get(r["cid"]).state for k, r in ids.items()}  # type: ignore[union-attr]
        assert states == {"signed": "valid", "ogg": "unsupported", "plain": "absent"}
        assert node.jobs.run_pending(only=["c2pa"]) == 0
        store.trust_add(ca.root)  # the listener trusts the CA now: the valid result is checked again
        assert node.jobs.run_pending(only=["c2pa"]) == 1
        assert Credentials(node.library).get(ids["signed"]["cid"]).state == "trusted"  # type: ignore[union-attr]
    finally:
        node.close()
