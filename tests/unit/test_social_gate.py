"""osp.social.gate: the quality gate hides (never drops) and says why and by whom."""

from __future__ import annotations

import pytest

from osp.core.errors import CallerError
from osp.identity.keys import SigningKey
from osp.social.gate import MAX_LISTS, GateSettings, annotate, blend, judge
from osp.social.trust import FlagMark, TrustGraph, TrustScores, compute


def did(n: int) -> str:
    return SigningKey.from_seed(bytes([n]) * 32).did


USER, FRIEND, ARTIST, SPAMMER, STRANGER, CURATOR = (did(i) for i in range(1, 7))
TRACK = "osp:track:bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def scores(*flags: FlagMark, lists: tuple[str, ...] = ()) -> TrustScores:
    g = TrustGraph(USER, lists=lists)
    g.follow(USER, FRIEND)
    g.follow(USER, ARTIST)
    g.follow(FRIEND, SPAMMER)
    for f in flags:
        g.flag(f)
    return compute(g)


def test_settings_round_trip_and_refuse_bad_input() -> None:
    gate = GateSettings.from_json({"threshold": 0.001, "lists": [CURATOR, CURATOR]})
    assert gate.to_json() == {"threshold": 0.001, "lists": [CURATOR]}
    assert gate.with_list(FRIEND, add=True).lists == (CURATOR, FRIEND)
    assert gate.with_list(CURATOR, add=False).lists == ()
    for bad in ({"threshold": -1}, {"threshold": 11}, {"threshold": True}, {"lists": ["did:key:nope"]},
                {"lists": "x"}, {"other": 1}, [], {"lists": [did(i) for i in range(10, 11 + MAX_LISTS)]}):
        with pytest.raises(CallerError):
            GateSettings.from_json(bad)
    with pytest.raises(CallerError):
        gate.with_list(FRIEND, add=False)


def test_flags_hide_with_who_and_why_in_order_of_authority() -> None:
    gate = GateSettings()
    s = scores(FlagMark(FRIEND, TRACK, SPAMMER, "spam"))
    hidden = judge(s, gate, author=SPAMMER, subjects=[TRACK])
    assert hidden is not None and hidden.by == FRIEND
    assert hidden.why.startswith("flagged spam by did:key:z6Mk") and hidden.why.endswith(" × typical)")
    # another track of the flagged identity: its author was flagged via a track → hidden too
    assert judge(s, gate, author=SPAMMER, subjects=["osp:track:other"]) is not None
    # the listener's own flag comes first, then a list's
    s = scores(FlagMark(FRIEND, TRACK, SPAMMER, "spam"), FlagMark(USER, TRACK, SPAMMER, "malicious"),
               FlagMark(CURATOR, TRACK, SPAMMER, "duplicate"), lists=(CURATOR,))
    hidden = judge(s, GateSettings(lists=(CURATOR,)), author=SPAMMER, subjects=[TRACK])
    assert hidden is not None and hidden.to_json() == {"why": "flagged malicious by you", "by": USER}
    s = scores(FlagMark(CURATOR, TRACK, None, "impersonation"), lists=(CURATOR,))
    hidden = judge(s, GateSettings(lists=(CURATOR,)), author=ARTIST, subjects=[TRACK],
                   names={CURATOR: "Good Curator"})
    assert hidden is not None and hidden.why == "flagged impersonation by Good Curator (your list)"


def test_untrusted_and_self_flags_do_not_hide_and_the_listener_is_never_hidden() -> None:
    s = scores(FlagMark(STRANGER, TRACK, ARTIST, "spam"), FlagMark(ARTIST, TRACK, ARTIST, "spam"),
               FlagMark(FRIEND, "osp:track:mine", USER, "spam"))
    assert judge(s, GateSettings(), author=ARTIST, subjects=[TRACK]) is None
    assert judge(s, GateSettings(threshold=1.0), author=USER, subjects=["osp:track:mine"]) is None
    assert judge(None, GateSettings(threshold=1.0), author=ARTIST) is None


def test_threshold_hides_the_unknown_and_names_the_gate() -> None:
    s = scores()
    gate = GateSettings(threshold=0.001)
    assert judge(s, gate, author=ARTIST) is None
    hidden = judge(s, gate, author=STRANGER)
    assert hidden is not None and hidden.to_json() == {
        "why": "no trust (outside your web of trust) below your gate 0.001", "by": None}
    assert judge(s, GateSettings(), author=STRANGER) is None  # 0: off


def test_annotate_keeps_every_item_and_adds_trust_and_hidden() -> None:
    s = scores(FlagMark(USER, TRACK, SPAMMER, "spam"))
    items = [{"id": TRACK, "artist": SPAMMER}, {"id": "c1", "author": ARTIST}, {"id": "x"}]
    out = annotate(s, GateSettings(), items)
    assert [o["id"] for o in out] == [TRACK, "c1", "x"]
    assert out[0]["hidden"] == {"why": "flagged spam by you", "by": USER} and out[0]["trust"] == 0.0
    assert out[1]["hidden"] is None and out[1]["trust"] > 0
    assert out[2]["trust"] is None and out[2]["hidden"] is None
    assert "trust" not in items[0]  # new dicts
    assert annotate(None, GateSettings(), items)[1]["trust"] is None


def test_blend_mixes_match_and_trust() -> None:
    assert blend(1.0, 0.0) == pytest.approx(0.7)
    assert blend(0.75, 1.0) > blend(1.0, 0.0)


def test_a_list_subscribed_since_the_scores_were_computed_hides_at_once() -> None:
    s = scores(FlagMark(STRANGER, TRACK, ARTIST, "spam"), FlagMark(CURATOR, TRACK, ARTIST, "malicious"))
    assert judge(s, GateSettings(), author=ARTIST, subjects=[TRACK]) is None
    hidden = judge(s, GateSettings(lists=(CURATOR,)), author=ARTIST, subjects=[TRACK])
    assert hidden is not None and hidden.by == CURATOR and hidden.why.endswith("(your list)")


def test_a_friends_flag_does_not_override_your_follow_and_a_duplicate_flag_hides_one_track() -> None:
    # FRIEND (trusted) flags a track of ARTIST, whom the listener follows: shown all the same
    s = scores(FlagMark(FRIEND, TRACK, ARTIST, "spam"))
    assert judge(s, GateSettings(), author=ARTIST, subjects=[TRACK]) is None
    # the listener's own flag still hides what they follow
    s = scores(FlagMark(USER, TRACK, ARTIST, "spam"))
    assert judge(s, GateSettings(), author=ARTIST, subjects=[TRACK]) is not None
    # "duplicate" on one of SPAMMER's tracks (not followed by the listener): that track only
    s = scores(FlagMark(FRIEND, TRACK, SPAMMER, "duplicate"))
    assert judge(s, GateSettings(), author=SPAMMER, subjects=[TRACK]) is not None
    assert judge(s, GateSettings(), author=SPAMMER, subjects=["osp:track:other"]) is None


def _fan(k: int) -> tuple[TrustScores, list[str], list[str]]:
    """The listener follows ``k`` friends, each of whom follows one more identity."""
    g = TrustGraph(USER)
    friends = [f"did:key:friend{i}" for i in range(k)]
    further = [f"did:key:further{i}" for i in range(k)]
    for f, x in zip(friends, further, strict=True):
        g.follow(USER, f)
        g.follow(f, x)
    return compute(g), friends, further


def test_the_threshold_is_relative_trust_whatever_the_graph_size() -> None:
    small, big = _fan(5), _fan(60)
    # raw shares shrink as the graph grows: a raw threshold between the friends and the
    # friends-of-friends of the small graph hides everyone in the big one
    assert small[0].score(small[1][0]) > 5 * big[0].score(big[1][0])
    gate = GateSettings(threshold=0.9)
    for s, friends, further in (small, big):
        assert s.standing(friends[0]) == pytest.approx(1.0)  # the typical trusted identity
        assert s.standing(further[0]) == pytest.approx(0.85, rel=1e-3)  # one step further: (1 − alpha)
        assert s.standing(STRANGER) == 0.0
        assert judge(s, gate, author=friends[-1]) is None
        hidden = judge(s, gate, author=further[-1])
        assert hidden is not None and hidden.why == "trust 0.85 × typical below your gate 0.9"
        assert judge(s, GateSettings(threshold=0.5), author=further[-1]) is None
        assert s.to_json(further[0])["relative"] == pytest.approx(0.85, rel=1e-3)


def test_typical_trust_is_not_sunk_by_a_flood_of_barely_trusted_sybils() -> None:
    g = TrustGraph(USER)
    for i in range(10):
        g.follow(USER, f"did:key:friend{i}")
    g.follow("did:key:friend0", "did:key:sybil-gate")  # one friend follows a Sybil …
    for i in range(2000):
        g.endorse("did:key:sybil-gate", f"did:key:sybil{i}")  # … who endorses 2,000 more
    s = compute(g)
    assert s.standing("did:key:friend5") == pytest.approx(1.0)  # a plain median would make them 100× typical
    assert s.standing("did:key:sybil7") < 0.01
    assert judge(s, GateSettings(threshold=0.1), author="did:key:sybil7") is not None
