"""osp.node.trust on a real library: the graph from follows and verified social records,
the cached scores and their worker, the gate's settings, and search results judged and
ranked by trust (hidden ones listed with the reason, never dropped)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from osp.core.errors import CallerError
from osp.core.settings import Settings
from osp.discovery.search import Query
from osp.identity.keys import SigningKey
from osp.library.social import SocialRecords
from osp.node.core import Node
from osp.node.publish import TrackMetadata, publish_file
from osp.node.search import result_json, search
from osp.node.trust import annotate, trust_report
from osp.records.social import build_social, sign_social, verify_social
from osp.social.gate import GateSettings
from tests.conftest import need

SND = Path("/usr/share/games/frozen-bubble/snd")
FRIEND, SPAMMER, HONEST, CURATOR = (SigningKey.from_seed(bytes([n]) * 32) for n in (11, 12, 13, 14))
CREATED = "2026-12-03T05:00:00Z"


def social(node: Node, key: SigningKey, kind: str, **fields: Any) -> str:
    v = verify_social(sign_social(build_social(kind, key.did, fields), key, CREATED))
    assert SocialRecords(node.library).add(v, own=False, now=time.time())
    return v.id


def track(node: Node, key: SigningKey, title: str, sound: str) -> str:
    path = SND / sound
    need(path.exists(), "frozen-bubble-data")
    published = publish_file(path, TrackMetadata(title=title, artist_name="Someone"), key=key,
                             library=node.library, media_dir=node.settings.media_dir)
    return published.track.id


@pytest.fixture
def node(tmp_path: Path) -> Any:
    n = Node(Settings(data_dir=tmp_path))
    n.keystore.create()
    n.signing_key()  # the library learns our did
    yield n
    n.close()


def test_flagged_spammer_is_hidden_in_search_with_the_reason_and_ranked_last(node: Node) -> None:
    honest = track(node, HONEST, "Glacier Morning", "chatted.ogg")
    spam1 = track(node, SPAMMER, "Glacier Glacier Glacier", "cancel.ogg")
    spam2 = track(node, SPAMMER, "Glacier Free Download", "hurry.ogg")
    node.library.add_follow(FRIEND.did, audio=False, now=time.time())
    social(node, FRIEND, "flag", subject=spam1, reason="spam")

    lines: list[dict[str, Any]] = []
    summary = search(node, Query.parse(["glacier"]), timeout=5, on_result=lambda r: lines.append(result_json(r)))
    assert summary.results == 1 and summary.hidden == 2
    assert [line["id"] for line in lines][0] == honest  # the visible one first
    by_id = {line["id"]: line for line in lines}
    assert set(by_id) == {honest, spam1, spam2}  # nothing dropped
    assert by_id[honest]["hidden"] is None and by_id[honest]["trust"] == 0.0
    for spam in (spam1, spam2):  # the flagged track, and the artist's other one
        hidden = by_id[spam]["hidden"]
        assert hidden["by"] == FRIEND.did and hidden["why"].startswith("flagged spam by did:key:z6Mk")
        assert by_id[spam]["trust"] == 0.0

    plain: list[dict[str, Any]] = []
    summary = search(node, Query.parse(["glacier"]), timeout=5, trust=False,
                     on_result=lambda r: plain.append(result_json(r)))
    assert summary.results == 3 and summary.hidden == 0 and all(p["trust"] is None for p in plain)

    why = trust_report(node, SPAMMER.did)
    assert why["score"] == 0.0 and any("flagged spam (a track of theirs) by" in w for w in why["why"])
    assert trust_report(node, FRIEND.did)["why"] == ["followed by you"]


def test_threshold_and_lists_hide_and_trust_ranks_within_the_visible(node: Node) -> None:
    liked = track(node, HONEST, "Harbour Lights", "chatted.ogg")
    other = track(node, CURATOR, "Harbour Lights", "cancel.ogg")
    node.library.add_follow(FRIEND.did, audio=False, now=time.time())
    social(node, FRIEND, "endorsement", subject=HONEST.did)

    def run() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        search(node, Query.parse(["harbour"]), timeout=5, on_result=lambda r: out.append(result_json(r)))
        return out

    first = run()
    assert [r["id"] for r in first] == [liked, other]  # the same match score: the trusted artist first
    assert first[0]["trust"] > 0 and first[1]["trust"] == 0.0
    node.trust.set_gate(GateSettings(threshold=0.001))
    gated = {r["id"]: r for r in run()}
    assert gated[liked]["hidden"] is None
    assert gated[other]["hidden"] == {"why": "no trust (outside your web of trust) below your gate 0.001", "by": None}

    social(node, CURATOR, "flag", subject=liked, reason="impersonation")
    assert {r["id"]: r for r in run()}[liked]["hidden"] is None  # an untrusted curator's flag: nothing
    with pytest.raises(CallerError, match="your own identity"):  # one's own flags count already
        node.trust.set_gate(node.trust.gate().with_list(node.signing_key().did, add=True))
    node.trust.set_gate(node.trust.gate().with_list(CURATOR.did, add=True))
    listed = {r["id"]: r for r in run()}[liked]["hidden"]
    assert listed["by"] == CURATOR.did and listed["why"].endswith("(your list)")
    assert listed["why"].startswith("flagged impersonation by")


def test_scores_cached_until_the_graph_changes_and_the_gate_persists(node: Node, tmp_path: Path) -> None:
    first = node.trust.fresh()
    assert node.trust.fresh() is first  # nothing changed: no recomputation
    node.library.add_follow(FRIEND.did, audio=False, now=time.time())
    second = node.trust.fresh()
    assert second is not first and second.score(FRIEND.did) > 0
    social(node, FRIEND, "follow", subject=HONEST.did)
    third = node.trust.fresh()
    assert third.score(HONEST.did) > 0 and third.why(HONEST.did)[0].startswith("followed by ")
    node.trust.set_gate(GateSettings(threshold=0.25, lists=(CURATOR.did,)))
    assert node.trust.fresh() is not third
    node.close()
    again = Node(Settings(data_dir=tmp_path))
    try:
        assert again.trust.gate() == GateSettings(threshold=0.25, lists=(CURATOR.did,))
    finally:
        again.close()


def test_the_worker_recomputes_off_the_request_path(node: Node) -> None:
    node.trust.poll = 0.05
    node.trust.start()
    try:
        deadline = time.monotonic() + 20
        while node.trust.cached() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        before = node.trust.view()
        assert before is not None and before.score(FRIEND.did) == 0.0
        node.library.add_follow(FRIEND.did, audio=False, now=time.time())
        node.trust.poke()
        while node.trust.view() is before and time.monotonic() < deadline:  # view() never computes here
            time.sleep(0.02)
        after = node.trust.view()
        assert after is not None and after.score(FRIEND.did) > 0
        status = node.trust.status()
        assert status["computed"] and status["converged"] and status["identities"] == 2
    finally:
        node.trust.close()


def test_annotate_comments_keeps_order_and_every_item(node: Node) -> None:
    node.library.add_follow(FRIEND.did, audio=False, now=time.time())
    social(node, FRIEND, "flag", subject=SPAMMER.did, reason="spam")
    items = [{"id": "osp:comment:x", "author": SPAMMER.did, "text": "buy now"},
             {"id": "osp:comment:y", "author": FRIEND.did, "text": "lovely"}]
    out = annotate(node, items)
    assert [o["id"] for o in out] == ["osp:comment:x", "osp:comment:y"]
    assert out[0]["hidden"]["by"] == FRIEND.did and out[1]["hidden"] is None and out[1]["trust"] > 0
    top = trust_report(node, None)
    assert top["identities"][0]["did"] == FRIEND.did and top["gate"] == {"threshold": 0.0, "lists": []}


def test_a_not_ai_flag_on_one_track_leaves_its_artist_trusted(node: Node) -> None:
    honest1 = track(node, HONEST, "Glacier Morning", "chatted.ogg")
    honest2 = track(node, HONEST, "Glacier Evening", "cancel.ogg")
    node.library.add_follow(HONEST.did, audio=False, now=time.time())
    node.social.create("flag", {"subject": honest1, "reason": "not-ai"})  # the listener's own flag
    scores = node.trust.refresh()
    assert scores.score(HONEST.did) > 0  # the artist keeps their trust
    shown = annotate(node, [{"id": honest1, "artist": HONEST.did}, {"id": honest2, "artist": HONEST.did}])
    assert shown[0]["hidden"] is not None and shown[1]["hidden"] is None  # that track only


def test_track_social_counts_trusted_likes_apart_from_sybil_likes(node: Node) -> None:
    from osp.apps.http.social import track_social

    subject = "osp:track:bagaaieravryjfmhg2alp7owjqfkutwcfsfhaznplrtoyl6sa6sj3lji6gb7q"
    node.library.add_follow(FRIEND.did, audio=False, now=time.time())
    social(node, FRIEND, "like", subject=subject)
    sybils = [SigningKey.from_seed(bytes([100, n]) + bytes(30)) for n in range(40)]
    for sybil in sybils:  # they even follow each other: nobody trusted follows them
        social(node, sybil, "like", subject=subject)
        social(node, sybil, "follow", subject=sybils[0].did)
    social(node, SPAMMER, "like", subject=subject)
    social(node, FRIEND, "follow", subject=SPAMMER.did)  # trusted through the friend …
    node.social.create("flag", {"subject": SPAMMER.did, "reason": "spam"})  # … but flagged by the listener
    view = track_social(node, subject)
    assert view["likes"] == 42  # the raw count
    assert view["trustedLikes"] == 1  # the friend only
    node.social.create("like", {"subject": subject})
    view = track_social(node, subject)
    assert view["likes"] == 43 and view["trustedLikes"] == 2 and view["liked"] is True


def test_an_old_raw_threshold_is_migrated_to_the_relative_one_that_hides_the_same(node: Node, tmp_path: Path) -> None:
    from osp.library.trust import load_gate, save_gate

    node.library.add_follow(FRIEND.did, audio=False, now=time.time())
    node.library.add_follow(HONEST.did, audio=False, now=time.time())
    social(node, FRIEND, "follow", subject=SPAMMER.did)
    raw = node.trust.refresh()
    assert raw.score(SPAMMER.did) < raw.score(FRIEND.did)
    old = (raw.score(SPAMMER.did) + raw.score(FRIEND.did)) / 2  # hid the friend's friend, not the friends
    save_gate(node.library, {"threshold": old, "lists": []})  # as stored before thresholds were relative
    node.close()
    again = Node(Settings(data_dir=tmp_path))
    try:
        gate = again.trust.gate()
        assert 0.85 < gate.threshold < 1  # raw / typical, the friends being typical
        assert load_gate(again.library) == {"threshold": gate.threshold, "lists": [], "scale": "relative"}
        shown = annotate(again, [{"id": "a", "author": FRIEND.did}, {"id": "b", "author": SPAMMER.did}])
        assert shown[0]["hidden"] is None and shown[1]["hidden"] is not None  # the same identities hidden
        assert trust_report(again, FRIEND.did)["relative"] == 1.0
        assert trust_report(again, None)["identities"][0]["relative"] == 1.0
    finally:
        again.close()
    third = Node(Settings(data_dir=tmp_path))  # migrated once: a stored relative threshold stays as it is
    try:
        assert third.trust.gate() == gate
    finally:
        third.close()


def test_level_4_of_verified_ai_generated_is_the_artists_standing(node: Node) -> None:
    """The track page's "verified AI-generated" level 4 (osp.provenance.levels) reads the
    artist's standing: outside the web of trust, trusted through a follow, hidden with the
    reason once the listener flags the artist."""
    from osp.node.credentials import credential_view
    from osp.node.trust import artist_standing

    honest = track(node, HONEST, "Glacier Morning", "chatted.ogg")
    stranger = track(node, SPAMMER, "Glacier Spam", "cancel.ogg")

    def level4(track_id: str) -> dict[str, Any]:
        row = node.library.track(track_id)
        assert row is not None
        record = json.loads(row.record)
        return credential_view(node.library, record, artist_standing(node, record))["credentials"]["levels"][3]

    assert level4(honest)["status"] == "outside"  # nobody vouches for the artist yet
    node.library.add_follow(HONEST.did, audio=False, now=time.time())
    node.trust.refresh()
    trusted = level4(honest)
    assert trusted["status"] == "trusted" and trusted["met"] and "typical identity you trust" in trusted["says"]
    assert level4(stranger)["status"] == "outside" and not level4(stranger)["met"]
    node.social.create("flag", {"subject": HONEST.did, "reason": "impersonation"})
    node.trust.refresh()
    hidden = level4(honest)
    assert hidden["status"] == "hidden" and "impersonation" in hidden["says"]
    (flag,) = trust_report(node, HONEST.did)["mine"]  # the id `osp retract` takes to withdraw it
    assert flag["kind"] == "flag" and flag["reason"] == "impersonation" and flag["id"].startswith("osp:flag:")
