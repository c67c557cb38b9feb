"""The library's lifecycle tables: migration 2 on an existing v1 database, persisted
transfers (resume data cleared when a transfer starts again), removing a track."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from osp.identity.keys import SigningKey
from osp.library.migrations import MIGRATIONS
from osp.library.store import Library, _split_sql
from osp.node.publish import TrackMetadata, publish_file


def test_v1_library_gains_transfers_and_file_state(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite3"
    db = sqlite3.connect(path)
    for statement in _split_sql(MIGRATIONS[0]):
        db.execute(statement)
    db.execute("INSERT INTO files VALUES ('bafy', 'media/bafy.ogg', 3, 'unixfs-v1-2025')")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    with Library(path) as lib:
        (row,) = lib.files()
        assert row.state == "ok" and lib.transfer_rows() == []
        assert lib.set_file_state("bafy", "missing") and not lib.set_file_state("bafy", "missing")
        assert lib.file_states() == {"bafy": "missing"}


def test_transfer_rows_and_remove_track(tmp_path: Path, music: list[Path]) -> None:
    key = SigningKey.generate()
    with Library(tmp_path / "library.sqlite3") as lib:
        a = publish_file(music[0], TrackMetadata(title="A"), key=key, library=lib, media_dir=tmp_path / "media")
        b = publish_file(music[0], TrackMetadata(title="B"), key=key, library=lib, media_dir=tmp_path / "media")
        lib.save_transfer(a.track, a.metainfo, [("127.0.0.1", 6881)])
        assert lib.save_transfer_resume(a.infohash, b"resume")
        assert lib.transfer(a.infohash).resume == b"resume"  # type: ignore[union-attr]
        lib.save_transfer(a.track, a.metainfo, [])
        assert lib.transfer(a.infohash).resume is None, "a restarted transfer re-checks after a crash"  # type: ignore[union-attr]
        lib.drop_transfer(a.infohash)
        assert lib.transfer_rows() == [] and not lib.save_transfer_resume(a.infohash, b"x")

        first = lib.remove_track(a.track.id)
        assert first is not None and not first.file_dropped and not first.torrent_dropped
        second = lib.remove_track(b.track.id)
        assert second is not None and second.file_dropped and second.torrent_dropped and second.path
        assert lib.files() == [] and lib.torrents() == [] and lib.block(a.track.record["cid"]) is None
        assert lib.remove_track(a.track.id) is None
