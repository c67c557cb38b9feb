"""C2PA from the command line and the control API (issue 10): ``osp c2pa signer/trust/check/
show``, ``osp publish --c2pa-sign`` (the CID covers the signed bytes, the original is
untouched), an invalid credential refused unless ``--allow-invalid-c2pa`` (then marked),
Ogg refused with its reason; ``GET /api/tracks/{id}`` with ``c2pa`` and ``credentials``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from osp.core.settings import Settings
from osp.identity.keystore import Keystore
from osp.library.credentials import Credentials
from osp.node.credentials import c2pa_store
from osp.node.publish import TrackMetadata
from osp.provenance.c2pa import sign_file
from tests.c2pa_ca import CA, make_ca
from tests.integration.nodes import jsonl, node_server, osp


def _tamper(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0x10
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture
def node_data(tmp_path: Path) -> tuple[Path, CA, CA]:
    """A data directory with an identity, a C2PA signer (the "Good" CA) and that CA trusted."""
    data = tmp_path / "data"
    Keystore(Settings(data_dir=data).identity_dir).create(None)
    ca, other = make_ca(tmp_path, "Good"), make_ca(tmp_path, "Other")
    store = c2pa_store(data)
    store.set_signer(ca.chain, ca.key)
    store.trust_add(ca.root)
    return data, ca, other


def test_signer_and_trust_list_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ca = make_ca(tmp_path, "Good")
    assert "no C2PA signer" in osp(data, "c2pa", "signer").stdout
    unsigned = osp(data, "publish", str(ca.root), "--c2pa-sign", check=False)  # said once, before any file is read
    assert unsigned.returncode == 2 and unsigned.stderr.count("no C2PA signer configured") == 1, unsigned.stderr
    assert "refused" not in unsigned.stderr and not (data / "media").exists()
    one = osp(data, "c2pa", "signer", "--cert", str(ca.chain), check=False)
    assert one.returncode == 2 and "both --cert and --key" in one.stderr
    signer = json.loads(osp(data, "c2pa", "signer", "--cert", str(ca.chain), "--key", str(ca.key), "--json").stdout)
    assert signer["signer"]["subject"] == "Good Signer (Good Records)"
    added = jsonl(osp(data, "c2pa", "trust", "add", str(ca.root), "--json"))
    assert len(added) == 1 and "Good Test Root CA" in added[0]["subject"]
    assert added[0]["fingerprint"] in osp(data, "c2pa", "trust", "ls").stdout
    removed = osp(data, "c2pa", "trust", "rm", added[0]["fingerprint"][:8])
    assert "removed" in removed.stdout and "empty" in osp(data, "c2pa", "trust", "ls").stdout


def test_publish_signed_copy_then_show_trusted(node_data: tuple[Path, CA, CA], audio_files: dict[str, Path]) -> None:
    data, _, other = node_data
    wav = audio_files["wav"]
    before = wav.read_bytes()
    [track] = jsonl(osp(data, "publish", str(wav), "--c2pa-sign", "--ai-generator", "Suno", "--prompt", "rain",
                        "--json"))
    assert wav.read_bytes() == before  # the user's file was never modified
    media = data / "media" / f"{track['cid']}.wav"
    assert media.read_bytes() != before
    assert osp(data, "cid", str(media)).stdout.split()[0] == track["cid"]  # the CID covers the signed bytes
    shown = json.loads(osp(data, "c2pa", "show", track["id"], "--json").stdout)
    assert shown["c2pa"]["state"] == "trusted" and shown["c2pa"]["signer"] == "Good Signer"
    assert shown["c2pa"]["softwareAgent"] == "Suno" and shown["c2pa"]["digitalSourceType"] == "trainedAlgorithmicMedia"
    assert [lv["met"] for lv in shown["credentials"]["levels"]] == [True, True, True, False]
    text = osp(data, "c2pa", "show", track["id"]).stdout
    assert "trusted" in text and "level 3  yes" in text
    [listed] = jsonl(osp(data, "ls", "--json"))
    assert listed["c2pa"]["state"] == "trusted"
    # osp c2pa check: any file, no node; --trust replaces the trust list
    assert json.loads(osp(data, "c2pa", "check", str(media), "--json").stdout)["state"] == "trusted"
    assert json.loads(osp(data, "c2pa", "check", str(media), "--trust", str(other.root), "--json").stdout)[
        "state"] == "valid"


def test_invalid_credential_refused_unless_allowed_and_ogg_refused(
        node_data: tuple[Path, CA, CA], audio_files: dict[str, Path], tmp_path: Path) -> None:
    data, ca, _ = node_data
    signed = tmp_path / "signed.wav"
    sign_file(audio_files["wav"], signed, "audio/wav", chain_pem=ca.chain.read_bytes(), key_pem=ca.key.read_bytes(),
              title="t", provenance={"aiGenerated": True})
    bad = _tamper(signed, tmp_path / "bad.wav")  # audio changed after signing
    failed = osp(data, "c2pa", "check", str(bad), check=False)
    assert failed.returncode == 5 and "invalid" in failed.stdout and "dataHash.mismatch" in failed.stdout
    refused = osp(data, "publish", str(bad), check=False)
    assert refused.returncode == 2 and "--allow-invalid-c2pa" in refused.stderr, refused.stderr
    assert jsonl(osp(data, "ls", "--json")) == []
    [marked] = jsonl(osp(data, "publish", str(bad), "--allow-invalid-c2pa", "--json"))
    shown = json.loads(osp(data, "c2pa", "show", marked["id"], "--json").stdout)
    assert shown["c2pa"]["state"] == "invalid" and shown["c2pa"]["allowedInvalid"] is True
    assert "INVALID" in shown["credentials"]["summary"]
    assert "INVALID" in osp(data, "c2pa", "show", marked["id"]).stdout
    # Ogg cannot carry a credential
    ogg = osp(data, "publish", str(audio_files["ogg"]), "--c2pa-sign", check=False)
    assert ogg.returncode == 2 and "C2PA does not support Ogg" in ogg.stderr
    assert "C2PA does not support Ogg" in osp(data, "c2pa", "check", str(audio_files["ogg"])).stdout


def test_publish_through_the_control_api_shows_c2pa_and_levels(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    ca = make_ca(tmp_path, "Good")
    data = tmp_path / "data"
    store = c2pa_store(data)
    store.set_signer(ca.chain, ca.key)
    with node_server(data, "127.0.0.1") as srv:
        auth = {"Authorization": f"Bearer {srv.token}"}
        body = {"paths": [str(audio_files["mp3"])], "c2paSign": True,
                "provenance": {"aiGenerated": False, "generator": "Ableton Live"}}
        r = httpx.post(f"{srv.control_url}/api/publish", json=body, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
        [track] = r.json()["tracks"]
        view = httpx.get(f"{srv.control_url}/api/tracks/{track['id']}", headers=auth, timeout=30).json()
        assert view["c2pa"]["state"] == "valid"  # no trust list on this node
        assert view["c2pa"]["digitalSourceType"] == "digitalCreation"
        levels = view["credentials"]
        assert [lv["status"] for lv in levels["levels"][:3]] == ["signed", "valid", "untrusted"]
        assert levels["levels"][3]["status"] in ("you", "unknown")  # our own track (once trust is computed)
        assert levels["mismatches"] == [] and levels["aiGenerated"] == {"declared": False, "credential": False}
        bad = httpx.post(f"{srv.control_url}/api/publish", json={**body, "c2paSign": "yes"}, headers=auth, timeout=30)
        assert bad.status_code == 400 and "c2paSign" in bad.json()["message"]
        listed = httpx.get(f"{srv.control_url}/api/tracks", headers=auth, timeout=30).json()["tracks"]
        assert [t["c2pa"]["state"] for t in listed] == ["valid"]
        shown = json.loads(osp(data, "c2pa", "show", track["id"], "--json").stdout)  # through the running node
        assert shown["c2pa"]["state"] == "valid"


def test_the_credential_travels_in_the_file_and_a_fetching_node_checks_it(
        tmp_path: Path, audio_files: dict[str, Path]) -> None:
    ca = make_ca(tmp_path, "Good")
    c2pa_store(tmp_path / "a").set_signer(ca.chain, ca.key)
    c2pa_store(tmp_path / "b").trust_add(ca.root)  # the listener trusts the artist's CA; the artist's node does not
    with node_server(tmp_path / "a", "127.0.0.171") as a, node_server(tmp_path / "b", "127.0.0.172") as b:
        meta = TrackMetadata(provenance={"aiGenerated": True, "generator": "Suno"}, c2pa_sign=True)
        published = a.node.publish(audio_files["m4a"], meta)
        assert Credentials(a.node.library).get(published.track.record["cid"]).state == "valid"  # type: ignore[union-attr]
        state = b.node.fetch(published.track.id, a.peer_url).wait(60)
        assert state.state == "complete", state
        auth = {"Authorization": f"Bearer {b.token}"}
        before = httpx.get(f"{b.control_url}/api/tracks/{published.track.id}", headers=auth, timeout=30).json()
        assert before["c2pa"] is None and before["credentials"]["levels"][1]["status"] == "unchecked"
        assert b.node.jobs.run_pending(only=["c2pa"]) == 1  # the background step (off in tests: run here)
        view = httpx.get(f"{b.control_url}/api/tracks/{published.track.id}", headers=auth, timeout=30).json()
        assert view["c2pa"]["state"] == "trusted" and view["c2pa"]["signer"] == "Good Signer"
        assert view["credentials"]["summary"].startswith("declared by the artist and signed by Good Signer")


def test_check_prints_no_control_character_from_the_file(tmp_path: Path) -> None:
    # c2pa-python quotes the file's first bytes in its error ("expected RIFF, got …"): a
    # crafted file must not reach the terminal with an escape sequence
    crafted = tmp_path / "x.wav"
    crafted.write_bytes(b"\x1b]0;\x07\x1b[2J" + bytes(range(32, 127)) * 40)
    result = osp(tmp_path / "data", "c2pa", "check", str(crafted), check=False)
    assert result.returncode == 2, result.stderr
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr


def test_check_of_a_file_that_is_no_audio_says_so(tmp_path: Path) -> None:
    junk = tmp_path / "r.wav"
    junk.write_bytes(bytes(range(256)) * 16)
    result = osp(tmp_path / "data", "c2pa", "check", str(junk), check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "r.wav is not a WAV, MP3, FLAC or M4A file" in result.stderr and "RIFF" not in result.stderr
