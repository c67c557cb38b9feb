"""The WebTorrent tracker's sans-IO core: pure, with a manual clock and in-memory peers."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from osp.discovery.wstracker import Close, Limits, Send, Tracker

IH = bytes(range(0xED, 0xFF)) + b"\x00\x01"  # 20 bytes, non-ASCII on purpose
IH_S = IH.decode("latin-1")
OTHER = b"\x07" * 20


def pid(n: int) -> str:
    return (b"-WW0208-" + bytes([n]) * 12).decode("latin-1")


def oid(n: int) -> str:
    return bytes([0xF0, n] * 10).decode("latin-1")


def msg(**fields: Any) -> str:
    return json.dumps({"action": "announce", "info_hash": IH_S, **fields})


def offer(n: int) -> dict[str, Any]:
    return {"offer_id": oid(n), "offer": {"type": "offer", "sdp": f"v=0 offer {n}", "extra": "dropped"}}


def sends(events: list[Any]) -> list[tuple[int, dict[str, Any]]]:
    assert all(isinstance(e, (Send, Close)) for e in events)
    return [(e.conn, json.loads(e.text)) for e in events if isinstance(e, Send)]


def tracker(**limits: Any) -> Tracker:
    return Tracker(lambda ih: ih == IH, 0.0, limits=Limits(**limits), rng=random.Random(1))


def test_announce_answers_counts_and_joins_the_swarm() -> None:
    t = tracker()
    a, b = t.connect(), t.connect()
    [(conn, reply)] = sends(t.receive(a, msg(peer_id=pid(1), left=0, event="started"), 1.0))
    assert conn == a and reply == {"action": "announce", "interval": 120, "info_hash": IH_S, "complete": 1, "incomplete": 0}
    [(_, reply)] = sends(t.receive(b, msg(peer_id=pid(2), left=1000), 1.0))
    assert (reply["complete"], reply["incomplete"]) == (1, 1)
    assert t.swarm(IH) == (1, 1) and t.stats().peers == 2 and t.stats().seeders == 1


def test_binary_strings_go_out_one_character_per_byte() -> None:
    t = tracker()
    events = t.receive(t.connect(), msg(peer_id=pid(1)), 0.0)
    text = events[0].text  # type: ignore[union-attr]
    assert IH_S[:18] in text  # bytes 0x80-0xFF not \\u-escaped (control characters are): as JSON.stringify writes it
    assert json.loads(text)["info_hash"].encode("latin-1") == IH


def test_offer_is_relayed_and_only_its_target_may_answer() -> None:
    t = tracker()
    seeder, browser, intruder = t.connect(), t.connect(), t.connect()
    t.receive(seeder, msg(peer_id=pid(1), left=0), 0.0)
    t.receive(intruder, msg(peer_id=pid(3), left=5), 0.0)
    out = sends(t.receive(browser, msg(peer_id=pid(2), left=10, offers=[offer(1)]), 0.0))
    assert out[0][0] == browser
    # a leecher's single offer goes to the seeder first, rebuilt without the extra field
    assert out[1] == (seeder, {"action": "announce", "offer": {"type": "offer", "sdp": "v=0 offer 1"},
                               "offer_id": oid(1), "peer_id": pid(2), "info_hash": IH_S})
    answer = {"type": "answer", "sdp": "v=0 answer"}
    # the intruder was not sent that offer: refused, nothing forwarded
    refused = sends(t.receive(intruder, msg(peer_id=pid(3), to_peer_id=pid(2), offer_id=oid(1), answer=answer), 0.0))
    assert refused == [(intruder, {"action": "announce", "failure reason": "no such offer", "info_hash": IH_S})]
    # nor may anyone answer under the seeder's peer id from another connection
    assert "failure reason" in sends(t.receive(intruder, msg(peer_id=pid(1), to_peer_id=pid(2), offer_id=oid(1),
                                                              answer=answer), 0.0))[0][1]
    relayed = sends(t.receive(seeder, msg(peer_id=pid(1), to_peer_id=pid(2), offer_id=oid(1), answer=answer), 0.0))
    assert relayed == [(browser, {"action": "announce", "answer": answer, "offer_id": oid(1), "peer_id": pid(1),
                                  "info_hash": IH_S})]
    # once only
    again = t.receive(seeder, msg(peer_id=pid(1), to_peer_id=pid(2), offer_id=oid(1), answer=answer), 0.0)
    assert "no such offer" in again[0].text  # type: ignore[union-attr]
    assert t.stats().offers_relayed == 1 and t.stats().answers_relayed == 1


def test_offers_are_capped_and_go_to_distinct_peers() -> None:
    t = tracker(offers_per_announce=3)
    peers = [t.connect() for _ in range(6)]
    for n, conn in enumerate(peers):
        t.receive(conn, msg(peer_id=pid(n + 10), left=1), 0.0)
    me = t.connect()
    out = sends(t.receive(me, msg(peer_id=pid(1), left=1, offers=[offer(n) for n in range(8)]), 0.0))
    targets = [conn for conn, _ in out[1:]]
    assert len(targets) == 3 and len(set(targets)) == 3 and me not in targets


def test_a_seeders_offers_never_go_to_seeders() -> None:
    t = tracker()
    other_seeder, me = t.connect(), t.connect()
    t.receive(other_seeder, msg(peer_id=pid(1), left=0), 0.0)
    out = sends(t.receive(me, msg(peer_id=pid(2), left=0, offers=[offer(1)]), 0.0))
    assert [conn for conn, _ in out] == [me]


def test_offer_expires() -> None:
    t = tracker()
    a, b = t.connect(), t.connect()
    t.receive(a, msg(peer_id=pid(1), left=0), 0.0)
    t.receive(b, msg(peer_id=pid(2), left=1, offers=[offer(1)]), 0.0)
    t.tick(51.0)
    late = t.receive(a, msg(peer_id=pid(1), to_peer_id=pid(2), offer_id=oid(1), answer={"type": "answer", "sdp": "x"}),
                     51.0)
    assert "no such offer" in late[0].text  # type: ignore[union-attr]


def test_peer_id_hijack_and_second_peer_id_are_refused() -> None:
    t = tracker()
    a, b = t.connect(), t.connect()
    t.receive(a, msg(peer_id=pid(1)), 0.0)
    [(_, reply)] = sends(t.receive(b, msg(peer_id=pid(1)), 0.0))
    assert reply["failure reason"] == "peer_id taken by another connection"
    [(_, reply)] = sends(t.receive(a, msg(peer_id=pid(2)), 0.0))
    assert reply["failure reason"] == "one peer id per swarm and connection"
    assert t.stats().peers == 1


def test_only_allowed_infohashes_get_a_swarm() -> None:
    t = tracker()
    [(_, reply)] = sends(t.receive(t.connect(), json.dumps({"action": "announce", "info_hash": OTHER.decode(),
                                                              "peer_id": pid(1)}), 0.0))
    assert reply["failure reason"].startswith("this tracker serves only") and t.stats().swarms == 0


def test_swarm_and_connection_caps() -> None:
    t = Tracker(lambda ih: True, 0.0, limits=Limits(peers_per_swarm=2, swarms_per_connection=2))
    for n in range(2):
        t.receive(t.connect(), msg(peer_id=pid(n)), 0.0)
    [(_, reply)] = sends(t.receive(t.connect(), msg(peer_id=pid(9)), 0.0))
    assert reply["failure reason"] == "swarm full"
    c = t.connect()
    for n in range(2):
        t.receive(c, json.dumps({"action": "announce", "info_hash": (bytes([n]) * 20).decode(), "peer_id": pid(1)}), 0.0)
    [(_, reply)] = sends(t.receive(c, json.dumps({"action": "announce", "info_hash": "\x05" * 20, "peer_id": pid(1)}), 0.0))
    assert reply["failure reason"] == "too many torrents on one connection"


def test_announce_rate_is_limited_per_connection() -> None:
    t = tracker(announce_burst=3, announce_rate=1.0, max_bad_messages=100)
    c = t.connect()
    replies = [sends(t.receive(c, msg(peer_id=pid(1)), 0.0))[0][1] for _ in range(5)]
    assert ["failure reason" in r for r in replies] == [False, False, False, True, True]
    assert "failure reason" not in sends(t.receive(c, msg(peer_id=pid(1)), 1.5))[0][1]


def test_bad_messages_get_a_failure_then_a_close() -> None:
    t = tracker(max_bad_messages=3)
    c = t.connect()
    bad = ["not json", json.dumps({"action": "announce", "info_hash": IH_S, "info_hash ": 1}).replace('h ', 'h'),
           '{"action":"scrape","info_hash":NaN}', "[" * 20000, "x" * 70_000,
           json.dumps({"action": "connect"}), msg(peer_id="short"), msg(peer_id="\u0100" * 20),
           msg(peer_id=pid(1), event="bogus"), msg(peer_id=pid(1), offers="no"),
           msg(peer_id=pid(1), offers=[{"offer_id": oid(1), "offer": {"type": "offer", "sdp": "x" * 20_000}}]),
           msg(peer_id=pid(1), answer={"type": "answer", "sdp": "x"}),
           json.dumps({"action": "scrape", "info_hash": ["y" * 20] * 100}), json.dumps([1, 2])]
    for text in bad:
        t2 = tracker()
        events = t2.receive(t2.connect(), text, 0.0)
        assert len(events) == 1 and "failure reason" in json.loads(events[0].text), text  # type: ignore[union-attr]
    events = [e for text in bad[:3] for e in t.receive(c, text, 0.0)]
    assert isinstance(events[-1], Close) and sum(isinstance(e, Close) for e in events) == 1
    assert t.stats().refused == 3


def test_stopped_disconnect_and_expiry_leave_the_swarm() -> None:
    t = tracker()
    a, b, c = t.connect(), t.connect(), t.connect()
    t.receive(a, msg(peer_id=pid(1)), 0.0)
    t.receive(b, msg(peer_id=pid(2)), 0.0)
    t.receive(c, msg(peer_id=pid(3)), 200.0)
    [(_, reply)] = sends(t.receive(a, msg(peer_id=pid(1), event="stopped"), 1.0))
    assert reply["incomplete"] == 2
    t.disconnect(c, 2.0)
    assert t.stats().peers == 1 and t.stats().connections == 2
    t.tick(239.0)
    assert t.stats().peers == 1
    t.tick(241.0)
    assert t.stats().peers == 0 and t.stats().swarms == 0
    # the expired peer may come back on its connection
    assert "failure reason" not in sends(t.receive(b, msg(peer_id=pid(2)), 242.0))[0][1]


def test_scrape() -> None:
    t = tracker()
    t.receive(t.connect(), msg(peer_id=pid(1), left=0), 0.0)
    [(_, reply)] = sends(t.receive(t.connect(), json.dumps({"action": "scrape", "info_hash": [IH_S, OTHER.decode()]}), 0.0))
    assert reply["files"] == {IH_S: {"complete": 1, "incomplete": 0, "downloaded": 1},
                              OTHER.decode(): {"complete": 0, "incomplete": 0, "downloaded": 0}}


def test_closed_connection_gets_nothing() -> None:
    t = tracker()
    c = t.connect()
    t.disconnect(c, 0.0)
    t.disconnect(c, 0.0)
    assert t.receive(c, msg(peer_id=pid(1)), 0.0) == []


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=25)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["action", "info_hash", "peer_id", "offers", "offer", "offer_id", "answer", "to_peer_id",
                         "type", "sdp", "left", "event"]), children, max_size=6), max_leaves=20).map(json.dumps)))
def test_any_input_gets_events_never_an_exception(text: str) -> None:
    t = Tracker(lambda ih: True, 0.0)
    peer = t.connect()
    t.receive(peer, msg(peer_id=pid(1)), 0.0)
    for event in t.receive(t.connect(), text, 0.0):
        assert isinstance(event, (Send, Close))
        if isinstance(event, Send):
            json.loads(event.text)


def test_a_flood_of_offers_evicts_only_the_flooders_own() -> None:
    t = tracker(pending_per_connection=2, offers_per_announce=1)
    seeder, honest, flooder = t.connect(), t.connect(), t.connect()
    t.receive(seeder, msg(peer_id=pid(1), left=0), 0.0)
    t.receive(honest, msg(peer_id=pid(2), left=1, offers=[offer(1)]), 0.0)
    for n in range(10, 60):
        t.receive(flooder, msg(peer_id=pid(3), left=1, offers=[offer(n)]), 0.0)
    answer = {"type": "answer", "sdp": "a"}
    out = sends(t.receive(seeder, msg(peer_id=pid(1), to_peer_id=pid(2), offer_id=oid(1), answer=answer), 1.0))
    assert [conn for conn, _ in out] == [honest]
    old = t.receive(seeder, msg(peer_id=pid(1), to_peer_id=pid(3), offer_id=oid(10), answer=answer), 1.0)
    assert "no such offer" in old[0].text  # type: ignore[union-attr]
    recent = sends(t.receive(seeder, msg(peer_id=pid(1), to_peer_id=pid(3), offer_id=oid(59), answer=answer), 1.0))
    assert [conn for conn, _ in recent] == [flooder]
    t.disconnect(flooder, 2.0)
    gone = t.receive(seeder, msg(peer_id=pid(1), to_peer_id=pid(3), offer_id=oid(58), answer=answer), 2.0)
    assert "no such offer" in gone[0].text  # type: ignore[union-attr]


def test_refusals_of_well_formed_announces_never_close_the_connection() -> None:
    """libtorrent announces a hybrid torrent's v2 hash too (measured: refused once per
    announce round): a refusal must not count towards closing its socket."""
    t = tracker(max_bad_messages=3)
    c = t.connect()
    for _ in range(10):
        events = t.receive(c, json.dumps({"action": "announce", "info_hash": OTHER.decode(), "peer_id": pid(1)}), 0.0)
        assert [type(e) for e in events] == [Send]
    assert sends(t.receive(c, msg(peer_id=pid(1)), 0.0))[0][1]["incomplete"] == 1
    assert t.stats().refused == 10


def test_an_answer_goes_only_to_the_connection_that_made_the_offer() -> None:
    """The offerer leaves the swarm ("stopped", its socket open) and another connection
    takes its peer id: the answer is not forwarded to that one."""
    t = tracker()
    a, b, c = t.connect(), t.connect(), t.connect()
    t.receive(b, msg(peer_id=pid(2), left=0), 1.0)
    [_, (to, _)] = sends(t.receive(a, msg(peer_id=pid(1), left=5, offers=[offer(1)]), 1.0))
    assert to == b
    t.receive(a, msg(peer_id=pid(1), event="stopped"), 2.0)
    t.receive(c, msg(peer_id=pid(1), left=5), 2.0)
    answer = msg(peer_id=pid(2), to_peer_id=pid(1), offer_id=oid(1), answer={"type": "answer", "sdp": "v=0 answer"})
    assert sends(t.receive(b, answer, 3.0)) == []
    assert t.stats().answers_relayed == 0
