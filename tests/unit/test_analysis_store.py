"""The ``analysis`` table's repository (``osp.library.analysis``) and the "more like this"
index over it (``osp.node.analysis.SimilarIndex``), on a real SQLite library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from osp.core.errors import NotFoundError
from osp.library.analysis import Analyses, AnalysisRow
from osp.library.store import Library
from osp.node.analysis import SimilarIndex, top_similar
from osp.provenance.analysis import ANALYSER_VERSION, VECTOR_DIM


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    with Library(tmp_path / "library.db") as library:
        with library.transaction() as db:
            db.execute("INSERT INTO files (cid, path, size, profile) VALUES ('bfile', 'f.ogg', 1, 'p')")
            db.execute("INSERT INTO torrents (infohash, cid, metainfo) VALUES ('00', 'bfile', x'00')")
            db.executemany("INSERT INTO tracks (id, artist, title, cid, infohash, format, duration, size, released, "
                           "record, origin, added_at) VALUES (?, 'did', 't', 'bfile', '00', 'ogg', 1, 1, '2026-01-01', "
                           "x'7b7d', 'fetched', ?)", [(f"t{i}", f"2026-01-01T00:00:0{i}Z") for i in range(6)])
        yield library


def unit(*values: float) -> bytes:
    v = np.zeros(VECTOR_DIM, dtype=np.float32)
    v[: len(values)] = values
    return (v / np.linalg.norm(v)).astype("<f4").tobytes()


def row(track: str, bpm: float, key: str = "A", mode: str = "minor", vector: bytes | None = None,
        version: str = ANALYSER_VERSION, error: str | None = None) -> AnalysisRow:
    return AnalysisRow(track, bpm, key, mode, 0.2, -14.0, -1.0, 30.0, vector, version, 1.0, error)


def test_pending_put_get_and_versions(lib: Library) -> None:
    a = Analyses(lib)
    assert [t.id for t in a.pending(ANALYSER_VERSION, 10)] == [f"t{i}" for i in range(6)]  # oldest first
    assert a.put(row("t0", 120.0))
    assert a.put(row("t1", 90.0, version="osp-analysis/0"))  # an older analyser: pending again
    assert a.put(AnalysisRow("t2", None, None, None, None, None, None, None, None, ANALYSER_VERSION, 1.0, "bad file"))
    assert not a.put(row("gone", 100.0))  # its track is not in the library: nothing stored
    assert [t.id for t in a.pending(ANALYSER_VERSION, 10)] == ["t1", "t3", "t4", "t5"]
    assert a.get("gone") is None and a.get("t2") is not None and a.get("t2").error == "bad file"  # type: ignore[union-attr]
    got = a.get_many([f"t{i}" for i in range(6)] * 300)  # more ids than one SQL statement takes, repeated
    assert sorted(got) == ["t0", "t1", "t2"]
    assert got["t0"].to_json()["key"] == "A minor" and got["t2"].to_json()["key"] is None
    with lib.transaction() as db:
        db.execute("UPDATE files SET state='missing'")
    assert a.pending(ANALYSER_VERSION, 10) == []  # no intact file: waits for it (not stored as failed)


def test_matching_needs_an_intact_file_and_a_result(lib: Library) -> None:
    a = Analyses(lib)
    a.put(row("t0", 120.0))
    a.put(row("t1", 124.0, "C", "major"))
    a.put(AnalysisRow("t2", None, None, None, None, None, None, None, None, ANALYSER_VERSION, 1.0, "bad"))
    assert [t.id for t in a.matching(bpm=(118.0, 125.0))] == ["t1", "t0"]  # newest first
    assert [t.id for t in a.matching(bpm=(118.0, 125.0), key=("A", "minor"))] == ["t0"]
    assert a.matching(key=("B", "major")) == []
    with lib.transaction() as db:
        db.execute("UPDATE files SET state='missing'")
    assert a.matching(bpm=(0.0, 500.0)) == []  # not served: not found


def test_similar_index_follows_writes_and_deletes(lib: Library) -> None:
    a = Analyses(lib)
    index = SimilarIndex(a)
    with pytest.raises(NotFoundError, match="not yet"):
        index.similar("t0")
    a.put(row("t0", 120.0, vector=unit(1, 0)))
    a.put(row("t1", 120.0, vector=unit(1, 0.1)))
    a.put(row("t2", 120.0, vector=unit(0, 1)))
    a.put(row("t3", 120.0, vector=unit(1, 1), version="osp-analysis/0"))  # another analyser's space: left out
    assert [t for t, _s in index.similar("t0")] == ["t1", "t2"]
    a.put(row("t4", 120.0, vector=unit(1, 0.05)))  # a new row: the matrix is rebuilt
    found = index.similar("t0", limit=2)
    assert [t for t, _s in found] == ["t4", "t1"] and found[0][1] > found[1][1]
    with lib.transaction() as db:
        db.execute("DELETE FROM tracks WHERE id='t4'")  # the row goes with its track
    assert [t for t, _s in index.similar("t0", limit=2)] == ["t1", "t2"]
    a.put(AnalysisRow("t1", None, None, None, None, None, None, None, None, ANALYSER_VERSION, 2.0, "re-run failed"))
    assert [t for t, _s in index.similar("t0")] == ["t2"]
    with pytest.raises(NotFoundError, match="it failed"):
        index.similar("t1")


def test_top_similar_orders_and_excludes() -> None:
    ids = ["a", "b", "c"]
    matrix = np.stack([np.frombuffer(unit(1, 0), "<f4"), np.frombuffer(unit(0, 1), "<f4"),
                       np.frombuffer(unit(1, 1), "<f4")])
    assert [t for t, _ in top_similar(unit(1, 0), ids, matrix, 5, exclude="a")] == ["c", "b"]
    assert top_similar(unit(1, 0), [], np.zeros((0, VECTOR_DIM), np.float32), 5) == []
