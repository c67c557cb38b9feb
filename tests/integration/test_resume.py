"""Seeding survives a restart from resume data, without re-hashing."""

from __future__ import annotations

import time
from pathlib import Path

from osp.core.settings import Settings
from osp.node import Node, TrackMetadata


def settings(data: Path) -> Settings:
    return Settings(data_dir=data, listen=("127.0.0.9", 0), dht=False, allow_private_peers=True)


def wait_state(node: Node, infohash: str, states: set[str], timeout: float = 20) -> str:
    assert node.engine is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = node.engine.status(infohash).state
        if state in states:
            return state
        time.sleep(0.05)
    raise AssertionError(f"still {state} after {timeout} s")


def test_restart_seeds_from_resume_data(tmp_path: Path, music: list[Path]) -> None:
    node = Node(settings(tmp_path))
    node.keystore.create()
    node.start_engine()
    published = [node.publish(p, TrackMetadata()) for p in music]
    for p in published:
        wait_state(node, p.infohash, {"seeding"})
    node.close()  # saves whatever changed since the resume data written at publish

    node = Node(settings(tmp_path))
    rows = {t.infohash: t.resume for t in node.library.torrents()}
    assert all(rows.values()), "resume data stored for every torrent"
    # Same size, other bytes: a re-hash would find bad pieces; resume data trusts the file.
    media = sorted((tmp_path / "media").glob("*.ogg"))
    with open(media[0], "r+b") as f:
        f.seek(300_000)
        f.write(b"\0" * 1000)
    node.start_engine()
    assert node.engine is not None
    for p in published:
        state = wait_state(node, p.infohash, {"seeding", "downloading", "finished"})  # past checking_resume_data
        assert state == "seeding" and node.engine.status(p.infohash).progress == 1.0, "re-hashed on restart"
    node.close()


def test_missing_media_file_is_not_seeded(tmp_path: Path, music: list[Path]) -> None:
    node = Node(settings(tmp_path))
    node.keystore.create()
    published = node.publish(music[0], TrackMetadata())
    node.close()
    file = next((tmp_path / "media").glob("*.ogg"))
    file.unlink()
    node = Node(settings(tmp_path))
    engine = node.start_engine()
    assert not engine.has_torrent(published.infohash)
    node.close()


def test_partial_files_of_no_persisted_transfer_are_removed_at_start(tmp_path: Path) -> None:
    partial = tmp_path / "media" / "partial"
    partial.mkdir(parents=True)
    (partial / "half.ogg").write_bytes(b"x" * 1000)
    node = Node(settings(tmp_path))
    node.start_engine()
    node.close()
    assert not (partial / "half.ogg").exists()
