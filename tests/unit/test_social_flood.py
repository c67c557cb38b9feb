"""A flood of strangers' records about one track (hostile review, findings 1, 5, 6) on a
library-only node (real SQLite): the listener's own and trusted records stay in every view
and in the peer answer, likes are counted whatever the flood, an unlike and a like again
find the listener's like, and the view stays bounded.

The flood is 10,100 likes (each a different author) and 10,000 comments, stored with
``SocialRecords.add_many`` directly: copies of one signed record with another id and
author each (signing 20,000 records would take the test's whole time; the views never
verify signatures again: ``verify_social`` runs before ``add``, and is tested apart)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osp.apps.http.social import track_social
from osp.apps.web.api import unlike
from osp.content.cid import CID, JSON
from osp.core.settings import Settings
from osp.identity.keys import SigningKey
from osp.node import Node
from osp.node.social_view import MAX_VIEW_COMMENTS
from osp.records.social import VerifiedSocial, build_social, sign_social

TRACK = f"osp:track:{CID.of(b'unit flood', codec=JSON)}"
FRIEND = SigningKey.from_seed(bytes([7]) * 32)
STRANGER = SigningKey.from_seed(bytes([8]) * 32)
NOW = 1_795_000_000.0
LIKES, COMMENTS = 10_100, 10_000


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path / "n", dht=False), clock=lambda: NOW)
    n.keystore.create()
    yield n
    n.close()


def signed(kind: str, key: SigningKey, **fields: Any) -> dict[str, Any]:
    return sign_social(build_social(kind, key.did, fields), key, "2026-12-01T10:00:00Z")


def copies(template: dict[str, Any], n: int, tag: str, **extra: Any) -> list[VerifiedSocial]:
    """``n`` copies of ``template``, each with its own id and author (and ``extra``)."""
    kind = template["id"].split(":")[1]
    return [VerifiedSocial({**template, "id": f"osp:{kind}:b{tag}{i:06d}", "author": f"did:key:z6MkSybil{tag}{i:06d}",
                            **extra}) for i in range(n)]


def flood(node: Node) -> None:
    likes = copies(signed("like", STRANGER, subject=TRACK), LIKES, "l")
    comments = copies(signed("comment", STRANGER, subject=TRACK, text="buy followers " * 40), COMMENTS, "c")
    assert node.social.records.add_many([*likes, *comments], own=False, now=NOW + 60) == LIKES + COMMENTS


def test_own_and_trusted_records_stay_in_view_and_in_the_peer_answer(node: Node) -> None:
    node.library.add_follow(FRIEND.did, audio=False, now=NOW)  # the friend has trust > 0
    me = node.signing_key().did
    own_like = node.social.create("like", {"subject": TRACK})
    own_comment = node.social.create("comment", {"subject": TRACK, "text": "mine"})
    honest = [signed("like", FRIEND, subject=TRACK), signed("comment", FRIEND, subject=TRACK, text="honest")]
    assert node.social.ingest(honest, source="http://198.51.100.9:8787") == 2
    flood(node)

    started = time.monotonic()
    view = track_social(node, TRACK)
    took = time.monotonic() - started
    body = json.dumps(view, ensure_ascii=False).encode()
    assert view["likes"] == LIKES + 2 and view["liked"] is True
    assert view["trustedLikes"] == 2  # the listener and the friend; no stranger
    shown = {c["id"] for c in view["comments"]}
    assert {own_comment["id"], honest[1]["id"]} <= shown
    assert len(view["comments"]) <= MAX_VIEW_COMMENTS
    assert view["more"] == {"comments": COMMENTS + 2 - len(view["comments"]), "flags": 0}
    assert len(body) < 1_000_000, len(body)  # 10,000 comments were 82 MB
    print(f"view of {LIKES} likes and {COMMENTS} comments: {len(body)} bytes in {took:.2f} s")

    # what this node serves peers: ours first, then the friend's, whatever the flood
    answer = json.loads(node.social.peer_answer(TRACK))
    ids = [r["id"] for r in answer["records"]]
    assert set(ids[:2]) == {own_like["id"], own_comment["id"]}
    assert set(ids[2:4]) == {h["id"] for h in honest}
    assert {own_like["id"], honest[0]["id"]} <= {r["id"] for r in node.social.about(TRACK)}

    # like again: the like held (was: ConflictError "the same record is held already")
    assert node.social.create("like", {"subject": TRACK}) == own_like
    # unlike finds the like by author (was: 0, the like stayed and travelled)
    assert unlike(node, TRACK) == 1
    view = track_social(node, TRACK)
    assert view["liked"] is False and view["likes"] == LIKES + 1 and view["trustedLikes"] == 1
    assert own_like["id"] not in {r["id"] for r in json.loads(node.social.peer_answer(TRACK))["records"]}
    assert unlike(node, TRACK) == 0
    assert node.social.records.find(me, "like", TRACK) is None


def test_own_retraction_is_served_before_a_flood_of_strangers_tombstones(node: Node) -> None:
    comment = node.social.create("comment", {"subject": TRACK, "text": "oops"})
    node.clock = lambda: NOW + 1
    retraction = node.social.create("tombstone", {"subject": comment["id"]})
    pairs: list[VerifiedSocial] = []
    template = signed("comment", STRANGER, subject=TRACK, text="here and gone")
    tomb = signed("tombstone", STRANGER, subject=comment["id"])
    for c in copies(template, 60, "t"):  # each stranger's comment and its own tombstone
        pairs += [c, VerifiedSocial({**tomb, "id": "osp:tombstone:b" + c.id[-8:], "author": c.author,
                                     "subject": c.id})]
    node.social.records.add_many(pairs, own=False, now=NOW + 60)
    answer = json.loads(node.social.peer_answer(TRACK))
    tombstones = [r["id"] for r in answer["records"] if r["type"] == "osp:Tombstone"]
    assert answer["truncated"] is True and len(tombstones) == 50
    assert tombstones[0] == retraction["id"]  # was: left out (the last 50 received, any author)


def test_the_view_stays_under_a_megabyte_whatever_the_records_size(node: Node) -> None:
    """The largest comments and flags a stranger can sign (2,000 and 1,000 emoji: 4 bytes
    each in UTF-8) still make a view under 1 MB; what did not fit is counted."""
    own = node.social.create("comment", {"subject": TRACK, "text": "mine"})
    big = signed("comment", STRANGER, subject=TRACK, text="\U0001F600" * 2000)
    flag = signed("flag", STRANGER, subject=TRACK, reason="spam", text="\U0001F600" * 1000)
    node.social.records.add_many([*copies(big, 1000, "b"), *copies(flag, 300, "f")], own=False, now=NOW + 60)
    view = track_social(node, TRACK)
    body = json.dumps(view, ensure_ascii=False).encode()  # as JSONResponse renders it
    assert len(body) < 1_000_000, len(body)
    assert own["id"] in {c["id"] for c in view["comments"]}
    assert 0 < len(view["comments"]) < 100 and view["more"]["comments"] == 1001 - len(view["comments"])
    assert 0 < len(view["flags"]) < 100 and view["more"]["flags"] == 300 - len(view["flags"])


def test_unfollow_finds_our_follow_whatever_the_number_of_followers(node: Node) -> None:
    artist = FRIEND.did
    ours = node.social.follow_signed(artist)
    assert ours is not None
    follows = copies(signed("follow", STRANGER, subject=artist), 10_100, "f")
    assert node.social.records.add_many(follows, own=False, now=NOW + 60) == 10_100
    assert node.social.follow_signed(artist) == ours  # the follow held (was: ConflictError)
    assert node.social.unfollow_signed(artist) == 1  # was: 0, our follow stayed and travelled
    assert node.social.records.is_tombstoned(str(ours["id"]))
