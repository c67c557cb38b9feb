"""A peer chooses its torrent's file name; the node never uses it (design.md §4 "Parsing
untrusted input").

A hostile artist signs a valid record "Evil" whose torrent names its one file after an
honest track's stored file (``<cidL>.ogg``: public once the CID is).  Whichever the
victim fetches first, each track is stored under ``<cid><ext>`` of its own verified
record, ``/ipfs/<cidL>`` serves exactly L's bytes, and ``rm`` of Evil leaves L's file.
Real nodes on loopback, real libtorrent, the hostile torrent made by the node's own
``make_v1_torrent`` under the colliding name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

import osp.node.publish as publish_module
from osp.apps.http import NodeServer
from osp.distribution.engine import parse_metainfo
from osp.node import Published, TrackMetadata
from tests.conftest import MUSIC_DIR, need
from tests.integration.nodes import node_server

LEGIT, OTHER = MUSIC_DIR / "applause.ogg", MUSIC_DIR / "cancel.ogg"


def _publish_named(srv: NodeServer, path: Path, title: str, torrent_name: str, monkeypatch: pytest.MonkeyPatch) -> Published:
    """Publish ``path`` with a v1 torrent whose file is named ``torrent_name`` (a hostile peer's choice)."""
    real = publish_module.make_v1_torrent
    with monkeypatch.context() as m:
        m.setattr(publish_module, "make_v1_torrent",
                  lambda name, size, hashes, web_seeds=(): real(torrent_name, size, hashes, web_seeds))
        return srv.node.publish(path, TrackMetadata(title=title), hybrid=False)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[NodeServer, NodeServer, NodeServer]]:
    """(honest, evil, victim): three in-process nodes with both listeners, on 127.0.0.81-83."""
    need(LEGIT.exists() and OTHER.exists(), "frozen-bubble-data")
    with ExitStack() as stack:
        yield tuple(stack.enter_context(node_server(tmp_path / n, f"127.0.0.{ip}"))  # type: ignore[misc]
                    for n, ip in (("honest", 81), ("evil", 82), ("victim", 83)))


def _get(victim: NodeServer, published: Published, source: NodeServer) -> None:
    transfer = victim.node.fetch(published.track.id, source.node.public_url, stall_timeout=30)
    state = transfer.wait(60)
    assert state.state == "complete", state


def _ipfs(victim: NodeServer, cid: str) -> bytes:
    response = httpx.get(f"{victim.node.public_url}/ipfs/{cid}", timeout=30)
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("order", ["legit-first", "evil-first"])
def test_peer_file_name_never_aliases_a_stored_track(
    tmp_path: Path, nodes: tuple[NodeServer, NodeServer, NodeServer], order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest, evil, victim = nodes
    legit_bytes = LEGIT.read_bytes()
    legit = honest.node.publish(LEGIT, TrackMetadata(title="Legit"))
    cid_l = legit.track.record["cid"]
    colliding = f"{cid_l}.ogg"
    assert parse_metainfo(legit.metainfo).name == colliding  # the honest node's own name: public with the CID

    if order == "evil-first":  # the same size as L, one byte changed: a size check alone cannot tell
        evil_bytes = bytearray(legit_bytes)
        evil_bytes[len(evil_bytes) // 2] ^= 0xFF
    else:
        evil_bytes = bytearray(OTHER.read_bytes())
    evil_src = tmp_path / "evil-src.ogg"
    evil_src.write_bytes(bytes(evil_bytes))
    bad = _publish_named(evil, evil_src, "Evil", colliding, monkeypatch)
    cid_e = bad.track.record["cid"]
    assert parse_metainfo(bad.metainfo).name == colliding and cid_e != cid_l

    steps = [(legit, honest), (bad, evil)] if order == "legit-first" else [(bad, evil), (legit, honest)]
    for published, source in steps:
        _get(victim, published, source)

    media = victim.node.settings.media_dir
    # every stored file is named by us after its own verified record, never by the peer
    assert sorted(p.name for p in media.iterdir() if p.is_file()) == sorted([colliding, f"{cid_e}.ogg"])
    assert {f.cid: Path(f.path).name for f in victim.node.library.files()} == {cid_l: colliding, cid_e: f"{cid_e}.ogg"}
    assert not any((media / "partial").rglob("*.*")), "no partial file is left behind"
    assert (media / colliding).read_bytes() == legit_bytes
    assert _ipfs(victim, cid_l) == legit_bytes
    assert _ipfs(victim, cid_e) == bytes(evil_bytes)
    assert victim.node.check_files() == {cid_l: "ok", cid_e: "ok"}

    # removing the hostile track deletes its own file and nothing else
    removed = victim.node.remove(bad.track.id)
    assert removed["fileDeleted"] is True
    assert sorted(p.name for p in media.iterdir() if p.is_file()) == [colliding]
    assert (media / colliding).read_bytes() == legit_bytes
    assert hashlib.sha256(_ipfs(victim, cid_l)).digest() == hashlib.sha256(legit_bytes).digest()


def test_same_audio_under_another_torrent_keeps_the_stored_file(
    tmp_path: Path, nodes: tuple[NodeServer, NodeServer, NodeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same CID, different infohash (a hybrid and a v1 torrent of one audio, the second named
    oddly): the second download never writes into the stored file; that file is kept and
    seeds both torrents; removing one track keeps the file the other uses."""
    honest, other, victim = nodes
    legit_bytes = LEGIT.read_bytes()
    hybrid = honest.node.publish(LEGIT, TrackMetadata(title="Legit"), hybrid=True)
    v1 = _publish_named(other, LEGIT, "Same audio", "renamed-by-peer.ogg", monkeypatch)
    assert hybrid.infohash != v1.infohash and hybrid.track.record["cid"] == v1.track.record["cid"]
    cid = hybrid.track.record["cid"]

    _get(victim, hybrid, honest)
    _get(victim, v1, other)
    media = victim.node.settings.media_dir
    assert sorted(p.name for p in media.iterdir() if p.is_file()) == [f"{cid}.ogg"]
    assert not any((media / "partial").rglob("*.*"))
    engine = victim.node.engine
    assert engine is not None and {hybrid.infohash, v1.infohash} <= set(engine.infohashes())
    assert engine.status(v1.infohash).state in ("seeding", "finished")
    assert _ipfs(victim, cid) == legit_bytes

    assert victim.node.remove(hybrid.track.id)["fileDeleted"] is False
    assert (media / f"{cid}.ogg").read_bytes() == legit_bytes
    assert _ipfs(victim, cid) == legit_bytes


def test_a_hostile_record_of_an_honest_torrent_cannot_block_it(tmp_path: Path, music: list[Path]) -> None:
    """Record B copies honest track L's torrent (same infohash) but names another CID.  While
    B downloads, fetching L is refused with a clear conflict; after B fails no torrent is left
    in the engine under B's file name, so L then downloads and verifies (hostile review: L
    failed with "local disk error" until a restart)."""
    import time

    from osp.distribution.engine import rebuild_torrent
    from osp.identity.keys import SigningKey
    from osp.records.track import build_track, sign_track, verify_track
    from tests.integration.nodes import start_node
    from tests.interop.fakes import free_port, osp_peer

    with node_server(tmp_path / "honest", "127.0.0.84") as honest:
        legit = honest.node.publish(music[1], TrackMetadata(title="Honest L"))
        torrent = rebuild_torrent(honest.node.metainfo_for(legit.track.id))
        key = SigningKey.generate()
        fields = {k: v for k, v in legit.track.record.items() if k not in ("id", "proof", "@context", "type", "version")}
        fields.update(artist=key.did, cid="bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", title="Evil B")
        evil = verify_track(sign_track(build_track(fields), key, "2024-01-01T00:00:00Z"))
        assert evil.infohash == legit.track.infohash
        with osp_peer("127.0.0.85", evil.record, torrent, free_port("127.0.0.85")) as fake:
            victim = start_node(tmp_path / "victim", 86)
            auth = {"Authorization": f"Bearer {victim.token}"}
            try:
                with httpx.Client(base_url=victim.control, headers=auth, timeout=30) as api:

                    def wait(track_id: str, timeout: float = 40) -> dict[str, object]:
                        deadline = time.monotonic() + timeout
                        while time.monotonic() < deadline:
                            state: dict[str, object] = api.get(f"/api/transfers/{track_id}").json()
                            if state["state"] in ("complete", "failed", "cancelled"):
                                return state
                            time.sleep(0.2)
                        raise AssertionError(f"{track_id} did not end within {timeout} s")

                    first = api.post("/api/fetch", json={"track": evil.id, "peer": fake, "stallTimeout": 3})
                    assert first.json()["state"] == "downloading", first.text
                    clash = api.post("/api/fetch", json={"track": legit.track.id, "peer": honest.peer_url})
                    assert clash.status_code == 409 and evil.id in clash.json()["message"], clash.text
                    assert wait(evil.id)["state"] == "failed"
                    api.post("/api/fetch", json={"track": legit.track.id, "peer": honest.peer_url, "stallTimeout": 20})
                    assert wait(legit.track.id)["state"] == "complete"
                stored = tmp_path / "victim" / "media" / f"{legit.track.record['cid']}.ogg"
                assert stored.read_bytes() == music[1].read_bytes()
            finally:
                victim.stop()
