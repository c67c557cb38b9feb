"""``osp.social.intake``: the per-peer record budget and the shape of a track's social answer."""

from __future__ import annotations

import pytest

from osp.core.errors import IntegrityError
from osp.social.intake import MAX_ANSWER_RECORDS, IntakeBudget, on_topic, parse_answer, source_key

TRACK = "osp:track:bagaaiera" + "a" * 52


def test_budget_grants_a_burst_then_refills_per_minute() -> None:
    budget = IntakeBudget(rate=60, burst=10)
    assert budget.take("peer", 25, now=0.0) == 10
    assert budget.take("peer", 5, now=0.0) == 0
    assert budget.take("peer", 5, now=3.0) == 3  # 60 per minute: one a second
    assert budget.take("other", 4, now=3.0) == 4  # each source has its own bucket
    assert budget.take("peer", 100, now=1000.0) == 10  # never above the burst


def test_budget_gives_back_what_was_not_stored_and_forgets_old_sources() -> None:
    budget = IntakeBudget(rate=60, burst=10, max_sources=2)
    assert budget.take("a", 10, now=0.0) == 10
    budget.give_back("a", 4)
    assert budget.take("a", 10, now=0.0) == 4
    budget.take("b", 1, now=0.0)
    budget.take("c", 1, now=0.0)  # "a" is forgotten: a fresh bucket (memory stays bounded)
    assert budget.take("a", 10, now=0.0) == 10
    with pytest.raises(ValueError):
        IntakeBudget(rate=0)


def test_parse_answer_takes_only_the_agreed_shape() -> None:
    assert parse_answer({"records": [{"id": "x"}], "truncated": False}) == [{"id": "x"}]
    for bad in ([], {"records": {}}, {"records": [1]}, {"results": []}, None):
        with pytest.raises(IntegrityError) as exc:
            parse_answer(bad)
        assert exc.value.context["check"] == "json"
    with pytest.raises(IntegrityError) as exc:
        parse_answer({"records": [{}] * (MAX_ANSWER_RECORDS + 1)})
    assert exc.value.context["check"] == "size"


def test_on_topic_keeps_records_about_the_track_and_tombstones_of_them() -> None:
    assert on_topic("comment", TRACK, TRACK) and on_topic("like", TRACK, TRACK) and on_topic("flag", TRACK, TRACK)
    assert on_topic("tombstone", "osp:comment:bagaaiera", TRACK, about=TRACK)
    assert not on_topic("tombstone", "osp:comment:bagaaiera", TRACK)  # of something unknown here
    assert not on_topic("tombstone", "osp:comment:bagaaiera", TRACK, about=TRACK + "x")
    assert not on_topic("comment", TRACK + "x", TRACK)
    assert not on_topic("endorsement", TRACK, TRACK) and not on_topic("playlist", None, TRACK)


@pytest.mark.parametrize(("source", "key"), [
    ("http://198.51.100.5:8787", "198.51.100.5"),
    ("http://198.51.100.5:9999/osp", "198.51.100.5"),
    ("http://[2001:db8:1:2:3:4:5:6]:8787", "2001:db8:1:2::/64"),
    ("http://[2001:db8:1:2::9]", "2001:db8:1:2::/64"),
    ("http://[::ffff:198.51.100.5]:1", "198.51.100.5"),
    ("http://Peer.Example:8787", "peer.example"),
    ("did:key:z6Mkabc", "did:key:z6Mkabc"),
    ("http://[bad:8787", "http://[bad:8787"),
])
def test_source_key_is_the_address_not_the_port(source: str, key: str) -> None:
    assert source_key(source) == key


def test_budget_one_bucket_per_address() -> None:
    budget = IntakeBudget(rate=10)
    assert budget.take("http://192.0.2.1:1000", 6, now=0.0) == 6
    assert budget.take("http://192.0.2.1:1001", 6, now=0.0) == 4  # another port, the same host
    budget.give_back("http://192.0.2.1:1002", 2)
    assert budget.take("http://192.0.2.1:1003", 6, now=0.0) == 2
    assert budget.take("http://192.0.2.2:1000", 6, now=0.0) == 6
