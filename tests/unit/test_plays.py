"""The local listening history (``osp.library.plays``, migration 13) and the recommender's
signal queries (``osp.library.signals``) on a real SQLite library."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from osp.core.errors import CallerError
from osp.library import plays as plays_module
from osp.library.plays import MAX_SECONDS, Plays
from osp.library.signals import changes, stamp, track_artists
from osp.library.store import Library


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return Library(tmp_path / "library.sqlite3")


def real_ids() -> tuple[str, str]:
    from osp.identity.keys import SigningKey
    from osp.records import build_track, sign_track

    key = SigningKey.from_seed(bytes(32))
    out = []
    for title in ("one", "two"):
        fields = {"title": title, "artist": key.did, "duration": 60.0, "format": "audio/ogg",
                  "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
                  "size": 1000, "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87&dn=x.ogg&xl=1000",
                  "released": "2026-11-21", "license": "CC0-1.0"}
        out.append(sign_track(build_track(fields), key, "2026-11-21T12:00:00Z")["id"])
    return out[0], out[1]


ONE, TWO = real_ids()


def test_plays_add_total_and_clear(library: Library) -> None:
    plays = Plays(library)
    plays.add(ONE, 30, now=100.0)
    plays.add(ONE, 150.5, now=200.0)
    plays.add(TWO, 10, now=150.0)
    assert plays.totals() == {ONE: 180.5, TWO: 10.0}
    assert [(t.track, t.plays, t.seconds, t.last) for t in plays.by_track()] == [(ONE, 2, 180.5, 200.0),
                                                                                 (TWO, 1, 10.0, 150.0)]
    assert [p.at for p in plays.recent(2)] == [150.0, 200.0]  # newest report first
    assert plays.stamp() == (3, 3)
    assert plays.clear() == 3 and plays.totals() == {} and plays.stamp() == (0, 0)
    plays.add(TWO, 5, now=300.0)
    assert plays.stamp() == (1, 4)  # row numbers are never reused: a clear then a play is a change


@pytest.mark.parametrize("track,seconds", [
    ("osp:track:nope", 10), ("osp:comment:" + ONE[10:], 10), (ONE + "x" * 200, 10), (None, 10), (ONE, 0),
    (ONE, -1), (ONE, MAX_SECONDS + 1), (ONE, math.inf), (ONE, math.nan), (ONE, True), (ONE, "10"),
])
def test_bad_plays_are_refused(library: Library, track: object, seconds: object) -> None:
    with pytest.raises(CallerError):
        Plays(library).add(track, seconds, now=1.0)
    assert Plays(library).totals() == {}


def test_the_history_keeps_the_newest_rows(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plays_module, "MAX_PLAYS", 3)
    plays = Plays(library)
    for i in range(5):
        plays.add(ONE if i < 3 else TWO, 10, now=float(i))
    assert [p.at for p in plays.recent(10)] == [4.0, 3.0, 2.0]
    assert plays.totals() == {ONE: 10.0, TWO: 20.0}


def test_signal_stamp_moves_with_plays(library: Library) -> None:
    before = stamp(library)
    assert changes(None, before) == 0 and track_artists(library) == {}
    Plays(library).add(ONE, 10, now=1.0)
    after = stamp(library)
    assert changes(before, after) == 1
    Plays(library).clear()
    assert changes(after, stamp(library)) == 1
