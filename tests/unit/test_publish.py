"""The publish pipeline against a real SQLite library and real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from osp.content.unixfs import cid_of_file
from osp.core.errors import CorruptDataError, UnsupportedMediaError
from osp.distribution.engine import parse_metainfo
from osp.distribution.pieces import piece_length_for
from osp.identity import SigningKey
from osp.library import Library
from osp.node.publish import TrackMetadata, publish_file, remove_orphans
from osp.records import verify_track

KEY = SigningKey.from_seed(bytes(range(32)))


def run(tmp: Path, path: Path, **meta: object):  # type: ignore[no-untyped-def]
    lib = Library(tmp / "library.sqlite3")
    try:
        return publish_file(path, TrackMetadata(**meta), key=KEY, library=lib, media_dir=tmp / "media"), lib  # type: ignore[arg-type]
    except BaseException:
        lib.close()
        raise


def test_publish_stores_a_verifiable_track(tmp_path: Path, music: list[Path]) -> None:
    result, lib = run(tmp_path, music[0], tags=("Game", "game ", "soundtrack"),
                      provenance={"aiGenerated": False, "humanContribution": "composed by hand"})
    record = result.track.record
    assert verify_track(result.track.to_json()).record == record
    assert record["cid"] == str(cid_of_file(music[0]))
    assert record["tags"] == ["game", "soundtrack"] and record["title"] == "introzik"
    mi = parse_metainfo(result.metainfo)
    assert mi.infohash == result.infohash and mi.piece_length == piece_length_for(mi.size) == 16 * 1024 and mi.infohash_v2 is None
    assert record["torrent"].startswith(f"magnet:?xt=urn:btih:{mi.infohash}&dn=")
    row = lib.file(record["cid"])
    assert row and (tmp_path / row.path).read_bytes() == music[0].read_bytes()
    assert lib.track(result.track.id) and lib.torrent(result.infohash)
    lib.close()


def test_publish_is_idempotent(tmp_path: Path, music: list[Path]) -> None:
    first, lib = run(tmp_path, music[0], title="Intro")
    lib.close()
    again, lib = run(tmp_path, music[0], title="Intro")
    assert not again.created and again.track.id == first.track.id and lib.track_count() == 1
    lib.close()


def test_refused_file_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "fake.mp3"
    bad.write_bytes(b"not audio" * 1000)
    with pytest.raises(UnsupportedMediaError):
        run(tmp_path, bad)
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").iterdir())


def test_failure_after_the_file_is_placed_is_cleaned_at_start(tmp_path: Path, music: list[Path], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*a: object, **k: object) -> bool:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Library, "add_track", boom)
    with pytest.raises(OSError):
        run(tmp_path, music[0])
    monkeypatch.undo()
    lib = Library(tmp_path / "library.sqlite3")
    assert lib.track_count() == 0
    removed = remove_orphans(lib, tmp_path / "media")
    assert removed and not any((tmp_path / "media").iterdir())
    lib.close()


def test_hybrid_torrent(tmp_path: Path, music: list[Path]) -> None:
    lib = Library(tmp_path / "library.sqlite3")
    result = publish_file(music[0], TrackMetadata(), key=KEY, library=lib, media_dir=tmp_path / "media", hybrid=True)
    mi = parse_metainfo(result.metainfo)
    assert mi.infohash_v2 and f"urn:btmh:1220{mi.infohash_v2}" in result.track.record["torrent"]
    lib.close()


CRASH_SCRIPT = """
import sys
from pathlib import Path
from osp.identity import SigningKey
from osp.library import Library
from osp.node.publish import TrackMetadata, publish_file
tmp, src = Path(sys.argv[1]), Path(sys.argv[2])
lib = Library(tmp / "library.sqlite3")
print("ready", flush=True)
publish_file(src, TrackMetadata(title="Crash"), key=SigningKey.from_seed(bytes(32)), library=lib, media_dir=tmp / "media")
print("done", flush=True)
"""


def test_sigkill_during_publish_leaves_all_or_nothing(tmp_path: Path, music: list[Path]) -> None:
    """Kill a real publish at several points; after start-up cleanup the library holds
    either the whole track (row, file with the right CID) or nothing at all."""
    big = tmp_path / "big.ogg"
    big.write_bytes(music[1].read_bytes())
    outcomes = set()
    for attempt, delay in enumerate((0.0, 0.02, 0.05, 0.08, 0.12, 0.2, 0.4, 1.0)):
        data = tmp_path / f"run{attempt}"
        data.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(data), str(big)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)  # the kill lands somewhere in the pipeline; any point must be safe
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        lib = Library(data / "library.sqlite3")
        try:
            remove_orphans(lib, data / "media")
            rows = lib.tracks()
            files = [p for p in (data / "media").iterdir()] if (data / "media").exists() else []
            if rows:
                (row,) = rows
                stored = lib.file(row.cid)
                assert stored and str(cid_of_file(data / stored.path)) == row.cid
                assert [p.name for p in files] == [Path(stored.path).name]
                outcomes.add("whole")
            else:
                assert files == []
                outcomes.add("nothing")
        finally:
            lib.close()
    assert outcomes  # at least one outcome observed; both are valid


def test_library_refuses_foreign_or_newer_databases(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorruptDataError):
        Library(junk)
    newer = tmp_path / "newer.sqlite3"
    import sqlite3

    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(CorruptDataError, match="newer"):
        Library(newer)
    assert os.path.exists(newer)
