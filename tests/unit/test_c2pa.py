"""C2PA credentials on real audio (issue 10): signing and validating WAV, MP3, FLAC and M4A
with a test CA made here (tests/c2pa_ca.py), trusted and untrusted; tampered audio and
edited tags fail; Ogg is refused with its reason; sidecar manifests; the on-disk signer
and trust list.  No network: c2pa is told to fetch nothing."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import c2pa
import pytest

from osp.core.errors import CallerError, NotFoundError
from osp.provenance.c2pa import (
    NOT_AUDIO,
    OGG_MESSAGE,
    Credential,
    manifest_for,
    read_credential,
    sign_file,
    sniff_mime,
)
from osp.provenance.c2pa_store import C2paStore
from tests.c2pa_ca import CA, make_ca

FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "m4a": "audio/mp4"}
PROVENANCE = {"aiGenerated": True, "digitalSourceType": "trainedAlgorithmicMedia",
              "generator": {"name": "Suno", "version": "4.5"}, "model": "chirp", "prompt": "lo-fi piano"}


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CA]:
    out = tmp_path_factory.mktemp("ca")
    return {"es256": make_ca(out, "Good"), "ed25519": make_ca(out, "Edwards", "ed25519"),
            "other": make_ca(out, "Other")}


def _anchor(ca: CA) -> str:
    return ca.root.read_text()


def _sign(src: Path, dst: Path, ca: CA, provenance: dict[str, object] | None = None) -> Path:
    sign_file(src, dst, FORMATS[src.suffix[1:]], chain_pem=ca.chain.read_bytes(), key_pem=ca.key.read_bytes(),
              title="Signed Title", provenance=PROVENANCE if provenance is None else provenance)
    return dst


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path], cas: dict[str, CA]) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("signed")
    return {ext: _sign(audio_files[ext], out / f"s.{ext}", cas["es256"]) for ext in FORMATS}


def _flip(src: Path, dst: Path, at: int) -> Path:
    data = bytearray(src.read_bytes())
    data[at] ^= 0x55
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("ext", list(FORMATS))
def test_signed_file_validates_and_says_what_was_declared(ext: str, signed: dict[str, Path], cas: dict[str, CA],
                                                          audio_files: dict[str, Path]) -> None:
    path = signed[ext]
    trusted = read_credential(path, FORMATS[ext], trust_anchors=_anchor(cas["es256"]))
    assert trusted.state == "trusted", trusted
    assert trusted.signer == "Good Signer" and trusted.issuer == "Good Records" and trusted.errors == ()
    assert trusted.claim_generator and trusted.claim_generator.startswith("osp-node")
    assert trusted.digital_source_type == "trainedAlgorithmicMedia" and trusted.software_agent == "Suno"
    assert trusted.provenance is not None and trusted.provenance["prompt"] == "lo-fi piano"
    assert not trusted.sidecar
    # no trust list: valid, not trusted; another CA's list: valid-but-untrusted too
    assert read_credential(path, FORMATS[ext]).state == "valid"
    assert read_credential(path, FORMATS[ext], trust_anchors=_anchor(cas["other"])).state == "valid"
    assert Credential.from_json(trusted.to_json()) == trusted
    # the original was only read; an unsigned file has no credential
    assert read_credential(audio_files[ext], FORMATS[ext]).state == "absent"


def test_a_manifest_from_an_untrusted_ca_is_valid_but_not_trusted(tmp_path: Path, audio_files: dict[str, Path],
                                                                   cas: dict[str, CA]) -> None:
    path = _sign(audio_files["flac"], tmp_path / "o.flac", cas["other"])
    result = read_credential(path, "audio/flac", trust_anchors=_anchor(cas["es256"]))
    assert result.state == "valid" and result.signer == "Other Signer"
    assert "not on your trust list" in result.message


def test_ed25519_signer(tmp_path: Path, audio_files: dict[str, Path], cas: dict[str, CA]) -> None:
    path = _sign(audio_files["wav"], tmp_path / "e.wav", cas["ed25519"])
    assert read_credential(path, "audio/wav", trust_anchors=_anchor(cas["ed25519"])).state == "trusted"
    assert read_credential(path, "audio/wav", trust_anchors=_anchor(cas["es256"])).state == "valid"


@pytest.mark.parametrize("ext", list(FORMATS))
def test_tampered_audio_is_invalid(ext: str, tmp_path: Path, signed: dict[str, Path], cas: dict[str, CA]) -> None:
    src = signed[ext]
    bad = _flip(src, tmp_path / f"t.{ext}", src.stat().st_size // 2)  # the middle of 12 s of audio
    result = read_credential(bad, FORMATS[ext], trust_anchors=_anchor(cas["es256"]))
    assert result.state == "invalid", result
    assert any(e.code.endswith("Hash.mismatch") for e in result.errors), result.errors
    assert result.message.startswith("INVALID")


@pytest.mark.parametrize("ext", list(FORMATS))
def test_tags_edited_after_signing_are_invalid(ext: str, tmp_path: Path, signed: dict[str, Path],
                                               cas: dict[str, CA]) -> None:
    data = signed[ext].read_bytes()
    assert data.count(b"Intro Excerpt") >= 1  # the title tag ffmpeg wrote (the manifest says "Signed Title")
    edited = tmp_path / f"e.{ext}"
    edited.write_bytes(data.replace(b"Intro Excerpt", b"Intro Exc3rpt"))
    result = read_credential(edited, FORMATS[ext], trust_anchors=_anchor(cas["es256"]))
    assert result.state == "invalid", result
    assert any("mismatch" in e.code for e in result.errors), result.errors


@pytest.mark.parametrize("ext", ["ogg", "opus"])
def test_ogg_is_unsupported_with_the_reason(ext: str, tmp_path: Path, audio_files: dict[str, Path],
                                             cas: dict[str, CA]) -> None:
    mime = "audio/ogg" if ext == "ogg" else "audio/opus"
    result = read_credential(audio_files[ext], mime)
    assert result.state == "unsupported" and result.message == OGG_MESSAGE
    with pytest.raises(CallerError, match="C2PA does not support Ogg"):
        sign_file(audio_files[ext], tmp_path / f"x.{ext}", mime, chain_pem=cas["es256"].chain.read_bytes(),
                  key_pem=cas["es256"].key.read_bytes(), title="t", provenance={})
    assert not (tmp_path / f"x.{ext}").exists()


def test_sidecar_manifest_next_to_the_file(tmp_path: Path, audio_files: dict[str, Path], cas: dict[str, CA]) -> None:
    audio = tmp_path / "side.mp3"
    ca = cas["es256"]
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, ca.chain.read_bytes(),
                                                       ca.key.read_bytes(), None))
    builder = c2pa.Builder(manifest_for("Side", PROVENANCE, ("test", "1")))
    builder.set_no_embed()
    asset = io.BytesIO()  # c2pa rewrites the file's own tag area even when it embeds nothing
    with open(audio_files["mp3"], "rb") as src:
        manifest = builder.sign(signer, "audio/mpeg", src, asset)
    audio.write_bytes(asset.getvalue())
    (tmp_path / "side.c2pa").write_bytes(manifest)
    result = read_credential(audio, "audio/mpeg", trust_anchors=_anchor(ca))
    assert result.state == "trusted" and result.sidecar
    assert read_credential(audio, "audio/mpeg", sidecar=False).state == "absent"
    tampered = _flip(audio, tmp_path / "side2.mp3", audio.stat().st_size // 2)
    shutil.copy(tmp_path / "side.c2pa", tmp_path / "side2.c2pa")
    assert read_credential(tampered, "audio/mpeg").state == "invalid"
    (tmp_path / "side2.c2pa").write_bytes(b"\x00garbage" * 10)
    broken = read_credential(tampered, "audio/mpeg")
    assert broken.state == "invalid" and broken.errors


def test_garbage_manifest_bytes_in_a_file_are_invalid_not_a_crash(tmp_path: Path, signed: dict[str, Path]) -> None:
    data = bytearray(signed["mp3"].read_bytes())
    at = data.find(b"c2pa")  # inside the JUMBF box of the manifest (ID3 GEOB frame)
    assert at > 0
    for i in range(at + 40, at + 200):
        data[i] = 0xAA
    bad = tmp_path / "g.mp3"
    bad.write_bytes(bytes(data))
    result = read_credential(bad, "audio/mpeg")
    assert result.state == "invalid" and result.errors and len(result.errors[0].text) <= 300


def test_unreadable_file_is_an_error_state(tmp_path: Path) -> None:
    assert read_credential(tmp_path / "gone.wav", "audio/wav").state == "error"


def test_the_format_is_sniffed_from_the_bytes_not_the_name(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    want = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "m4a": "audio/mp4", "ogg": "audio/ogg",
            "opus": "audio/ogg"}
    for ext, mime in want.items():
        assert sniff_mime(audio_files[ext].read_bytes()[:12]) == mime, ext
    assert sniff_mime(b"\xff\xfb\x90\x64" + bytes(8)) == "audio/mpeg"  # a bare MPEG-1 layer III frame
    assert sniff_mime(b"\xff\xf1\x50\x80" + bytes(8)) is None  # ADTS AAC: no MP3, no M4A
    junk = tmp_path / "r.wav"  # random bytes named .wav: no manifest "cannot be read", no such file at all
    junk.write_bytes(b"\x00" + os.urandom(4095))
    result = read_credential(junk, "audio/wav")
    assert result.state == "error" and NOT_AUDIO in result.message and not result.errors
    disguised = tmp_path / "o.wav"  # Ogg bytes, stated WAV: unsupported, not "expected RIFF"
    shutil.copy(audio_files["ogg"], disguised)
    assert read_credential(disguised, "audio/wav").state == "unsupported"
    wav_named_mp3 = tmp_path / "w.mp3"  # a WAV stated MP3 is read as the WAV it is
    shutil.copy(audio_files["wav"], wav_named_mp3)
    assert read_credential(wav_named_mp3, "audio/mpeg").state == "absent"


def test_manifest_declares_the_source_type_as_an_iptc_uri() -> None:
    created = manifest_for("t", {"aiGenerated": True, "generator": "Udio"}, ("osp-node", "0"))["assertions"][0]
    action = created["data"]["actions"][0]
    assert action["digitalSourceType"] == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    assert action["softwareAgent"] == {"name": "Udio"}
    human = manifest_for("t", {"aiGenerated": False}, ("osp-node", "0"))["assertions"][0]["data"]["actions"][0]
    assert human["digitalSourceType"].endswith("/digitalCreation")
    assert len(manifest_for("t", {}, ("osp-node", "0"))["assertions"]) == 1  # no provenance assertion


# --- the signer and trust list on disk ------------------------------------------------------


def test_signer_is_checked_and_stored_private(tmp_path: Path, cas: dict[str, CA]) -> None:
    store = C2paStore(tmp_path / "c2pa")
    assert store.signer_info() is None
    with pytest.raises(CallerError, match="no C2PA signer"):
        store.signer()
    good, other = cas["es256"], cas["other"]
    with pytest.raises(CallerError, match="is not the key"):
        store.set_signer(good.chain, other.key)
    with pytest.raises(CallerError, match="chain"):
        store.set_signer(good.root, good.key)  # one certificate: no chain
    no_eku = make_ca(tmp_path, "NoEku", eku=False)
    with pytest.raises(CallerError, match="extended key usage"):
        store.set_signer(no_eku.chain, no_eku.key)
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(CallerError, match="PEM"):
        store.set_signer(tmp_path / "junk.pem", good.key)
    info = store.set_signer(good.chain, good.key)
    assert info.subject == "Good Signer (Good Records)" and "Good Test Root CA" in info.issuer
    for path in (store.chain_path, store.key_path):
        assert os.stat(path).st_mode & 0o777 == 0o600
    assert store.signer() == (good.chain.read_bytes(), good.key.read_bytes())


def test_trust_list_add_ls_rm(tmp_path: Path, cas: dict[str, CA]) -> None:
    store = C2paStore(tmp_path / "c2pa")
    assert store.anchors_pem() is None and store.trust_hash() == ""
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(cas["es256"].root.read_bytes() + cas["other"].root.read_bytes())
    added = store.trust_add(bundle)
    assert len(added) == 2 and len(store.anchors()) == 2
    first = store.trust_hash()
    assert first and store.anchors_pem() and store.anchors_pem().count("BEGIN CERTIFICATE") == 2  # type: ignore[union-attr]
    store.trust_add(cas["es256"].root)  # again: still one anchor per certificate
    assert len(store.anchors()) == 2
    removed = store.trust_rm(added[1].fingerprint[:8])
    assert removed == added[1] and len(store.anchors()) == 1 and store.trust_hash() not in ("", first)
    with pytest.raises(NotFoundError):
        store.trust_rm(added[1].fingerprint)
    with pytest.raises(CallerError, match="hex"):
        store.trust_rm("zz")
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(CallerError):
        store.trust_add(tmp_path / "empty.pem")
    # a chain file: only its CA is an anchor; the signer's own certificate alone anchors nothing
    assert [a.subject for a in store.trust_add(cas["other"].chain)] == [added[1].subject]
    signer_only = tmp_path / "signer.pem"
    signer_only.write_bytes(cas["other"].chain.read_bytes().split(b"-----END CERTIFICATE-----")[0]
                            + b"-----END CERTIFICATE-----\n")
    with pytest.raises(CallerError, match="no CA certificate"):
        store.trust_add(signer_only)


def test_a_peers_file_is_checked_in_a_child_process(tmp_path: Path, signed: dict[str, Path], cas: dict[str, CA],
                                                    audio_files: dict[str, Path]) -> None:
    from osp.provenance.c2pa_isolated import read_credential_isolated

    anchors = _anchor(cas["es256"])
    assert read_credential_isolated(signed["wav"], "audio/wav", trust_anchors=anchors) == \
        read_credential(signed["wav"], "audio/wav", trust_anchors=anchors, sidecar=False)
    assert read_credential_isolated(audio_files["ogg"], "audio/ogg").state == "unsupported"
    bad = _flip(signed["m4a"], tmp_path / "b.m4a", signed["m4a"].stat().st_size // 2)
    assert read_credential_isolated(bad, "audio/mp4").state == "invalid"
    slow = read_credential_isolated(signed["wav"], "audio/wav", timeout=0.001)  # the child cannot start that fast
    assert slow.state == "error" and "took over" in slow.message


def test_a_peers_file_whose_c2pa_chunk_claims_600_mb_cannot_take_600_mb(tmp_path: Path,
                                                                          audio_files: dict[str, Path]) -> None:
    """c2pa-rs reads a WAV's whole ``C2PA`` chunk into memory: a peer's file of 600 MB
    (sparse here) whose chunk is a JUMBF box of 600 MB would take 600 MB in the child.
    The child's address space is capped (``MAX_MEMORY``): it fails, and that is invalid."""
    import struct

    from osp.provenance.c2pa_isolated import MAX_MEMORY, read_credential_isolated

    wav = audio_files["wav"].read_bytes()
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    size = 600 * 1024 * 1024
    assert size > MAX_MEMORY
    label = b"c2pa\x00\x11\x00\x10\x80\x00\xaa\x00\x38\x9b\x71\x03" + b"c2pa\x00"  # a jumd superbox description
    jumbf = struct.pack(">I", size) + b"jumb" + struct.pack(">I", 8 + len(label)) + b"jumd" + label
    body = wav[12:] + b"C2PA" + struct.pack("<I", size)
    bomb = tmp_path / "bomb.wav"
    with open(bomb, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + len(body) + size) + b"WAVE" + body + jumbf)
        f.truncate(12 + len(body) + size)  # sparse: no disk is used for the zeros
    got = read_credential_isolated(bomb, "audio/wav", timeout=30)
    assert got.state == "invalid", got
    # the same check from a fresh process, whose children are only the checker: none held it
    # (this test process's own RUSAGE_CHILDREN counts every child the suite ever waited for)
    probe = subprocess.run([sys.executable, "-c", "import resource, sys\n"
                            "from pathlib import Path\n"
                            "from osp.provenance.c2pa_isolated import read_credential_isolated\n"
                            "got = read_credential_isolated(Path(sys.argv[1]), 'audio/wav', timeout=30)\n"
                            "print(got.state, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)",
                            str(bomb)], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
    state, peak = probe.stdout.split()
    assert state == "invalid" and 0 < int(peak) < size, probe
