"""The announce plan and its scheduler (spec §9.2), with a manual clock."""

from __future__ import annotations

import hashlib

import pytest

from osp.core.errors import CallerError
from osp.discovery.announce import (
    ANNOUNCE_INTERVAL,
    BURST,
    DEFAULT_CAP,
    DEFAULT_RATE,
    MESSAGES_PER_ANNOUNCE,
    Announce,
    Holding,
    Scheduler,
    plan,
)
from osp.discovery.keys import rendezvous_key

ME = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
OTHER = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
FOLLOWED = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"


def holding(i: int, *, artist: str = OTHER, mine: bool = False, played: float = 0.0,
            tags: tuple[str, ...] = ("ambient",), title: str = "Glacier Drift") -> Holding:
    infohash = hashlib.sha1(b"%d" % i).hexdigest()
    return Holding({"id": f"osp:track:b{i:058d}", "artist": artist, "title": title, "tags": list(tags)},
                   infohash, mine, played)


def test_budget_constants_hold_together() -> None:
    assert DEFAULT_CAP == int(ANNOUNCE_INTERVAL * DEFAULT_RATE) == 600
    assert DEFAULT_RATE * MESSAGES_PER_ANNOUNCE <= 10  # announcing costs ≤ 10 of the 20 messages/s budget


def test_shared_keys_are_announced_once_for_10000_holdings() -> None:
    holdings = [holding(i, tags=("ambient", "ai"), title="Glacier Drift") for i in range(10_000)]
    out = plan(holdings, cap=100_000)
    keys = [a.key for a in out]
    assert len(keys) == len(set(keys))
    # 1 artist + 10,000 track keys + 10,000 infohashes + 2 tags + 2 words
    assert len(out) == 1 + 2 * 10_000 + 2 + 2
    assert sum(a.label == "tag:ambient" for a in out) == 1
    capped = plan(holdings, cap=DEFAULT_CAP)
    assert len(capped) == DEFAULT_CAP and capped == out[:DEFAULT_CAP]


def test_priority_order() -> None:
    holdings = [
        holding(1, played=10.0, tags=("rare",), title="Lonely"),
        holding(2, played=50.0, tags=("ambient",), title="Glacier"),
        holding(3, artist=ME, mine=True, tags=("ambient",), title="Glacier Mine"),
        holding(4, artist=FOLLOWED, played=5.0, tags=("ambient",), title="Glacier"),
    ]
    labels = [a.label for a in plan(holdings, cap=1000, extra_artists=[FOLLOWED])]
    track = lambda i: f"track:osp:track:b{i:058d}"  # noqa: E731
    infohash = lambda i: f"infohash:{hashlib.sha1(b'%d' % i).hexdigest()}"  # noqa: E731
    assert labels == [
        f"artist:{ME}", f"artist:{FOLLOWED}", f"artist:{OTHER}",
        track(3), infohash(3), track(2), infohash(2), track(1), infohash(1), track(4), infohash(4),
        "tag:ambient", "tag:rare",
        "word:glacier", "word:lonely", "word:mine",
    ]
    ports = {a.label.split(":")[0]: a.port for a in plan(holdings, cap=1000)}
    assert ports == {"artist": "http", "track": "http", "infohash": "bittorrent", "tag": "http", "word": "http"}
    first = plan(holdings, cap=1000)[3]
    assert first.key == rendezvous_key("track", f"osp:track:b{3:058d}").digest


def test_cap_and_junk() -> None:
    holdings = [holding(i) for i in range(10)] + [Holding({"title": "no id"}, "00" * 20, False, 0.0),
                                                  Holding({"id": "osp:track:bx", "artist": OTHER}, "zz", False, 0.0)]
    assert plan(holdings, cap=0) == []
    assert len(plan(holdings, cap=5)) == 5
    assert "infohash:zz" not in [a.label for a in plan(holdings, cap=100)]
    with pytest.raises(CallerError):
        plan(holdings, cap=-1)


def announces(n: int, prefix: str = "k") -> list[Announce]:
    return [Announce(hashlib.sha1(f"{prefix}{i}".encode()).digest(), "http", f"word:{prefix}{i}") for i in range(n)]


def test_scheduler_rate_burst_and_order() -> None:
    s = Scheduler(interval=100.0, rate=0.5)
    keys = announces(40)
    s.update(keys, now=0.0)
    first = s.due(0.0)
    assert first == keys[:BURST]  # new keys are due at once, in plan order, up to the burst
    assert s.due(0.0) == [] and s.next_deadline() == pytest.approx(2.0)  # one token every 1/rate s
    assert s.due(1.9) == []
    assert s.due(2.0) == [keys[BURST]]
    now, sent = 2.0, 0
    while (deadline := s.next_deadline()) is not None and deadline < 100.0:
        assert deadline > now  # never a deadline in the past: no busy loop
        now = deadline
        got = s.due(now)
        assert len(got) == 1
        sent += 1
    assert sent == 40 - BURST - 1
    assert now == pytest.approx(2.0 + 2 * sent)


def test_scheduler_reannounces_after_interval() -> None:
    s = Scheduler(interval=1800.0, rate=1.0)
    keys = announces(3)
    s.update(keys, now=0.0)
    assert s.due(0.0) == keys
    assert s.next_deadline() == 1800.0
    assert s.due(1799.9) == []
    assert s.due(1800.0) == keys
    assert s.next_deadline() == 3600.0


def test_scheduler_update_keeps_schedules_and_forgets_removed() -> None:
    s = Scheduler(interval=1800.0, rate=10.0)
    keys = announces(3)
    s.update(keys, now=0.0)
    assert s.due(0.0) == keys
    extra = announces(1, "new")
    s.update([keys[0], *extra], now=10.0)  # keys[1:] deleted, one new
    assert len(s) == 2
    assert s.due(10.0) == extra  # new key due at once; kept key keeps its schedule
    assert s.next_deadline() == 1800.0
    assert s.due(1800.0) == [keys[0]]
    assert s.due(1810.0) == extra
    s.update([], now=2000.0)
    assert s.next_deadline() is None and s.due(10_000.0) == []
    s.update(keys, now=20_000.0)
    s.forget()
    assert s.next_deadline() is None and s.due(30_000.0) == []


def test_scheduler_at_the_default_rate_fits_the_cap_in_one_interval() -> None:
    s = Scheduler()
    keys = announces(DEFAULT_CAP)
    s.update(keys, now=0.0)
    now, count = 0.0, 0
    while (deadline := s.next_deadline()) is not None and deadline < ANNOUNCE_INTERVAL:
        now = deadline
        count += len(s.due(now))
    assert count == DEFAULT_CAP  # every key once in the first interval (burst + rate × interval ≥ cap)
    rate = count / ANNOUNCE_INTERVAL
    assert rate * MESSAGES_PER_ANNOUNCE < 20


def test_scheduler_rejects_bad_settings() -> None:
    for interval, rate in ((0, 1), (1, 0), (1, -1), (1, float("inf"))):
        with pytest.raises(CallerError):
            Scheduler(interval=interval, rate=rate)
