"""``osp.node.social.SocialService`` on a library-only node (real SQLite, no engine): our
records signed and stored, retractions, what peers send, what the peer route answers, and
the announce plan's extra track keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from osp.content.cid import CID, JSON
from osp.core.errors import CallerError, ConflictError, IntegrityError, KeystoreError, NotFoundError
from osp.core.settings import Settings
from osp.discovery import announce
from osp.discovery.keys import rendezvous_key
from osp.identity.keys import SigningKey
from osp.library.playlists import Playlists
from osp.node import Node
from osp.records.social import build_social, sign_social
from osp.social import intake

TRACK = f"osp:track:{CID.of(b'unit social', codec=JSON)}"
OTHER = f"osp:track:{CID.of(b'unit other', codec=JSON)}"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(Settings(data_dir=tmp_path / "n", dht=False), clock=lambda: 1_795_000_000.0)
    n.keystore.create()
    yield n
    n.close()


def peer_record(kind: str, fields: dict[str, object], key: SigningKey | None = None,
                created: str = "2026-12-01T10:00:00Z") -> dict[str, object]:
    key = key or SigningKey.generate()
    return sign_social(build_social(kind, key.did, fields), key, created)


def test_create_signs_stores_and_plans_the_tracks_key(node: Node) -> None:
    like = node.social.create("like", {"subject": TRACK})
    assert like["author"] == node.signing_key().did and like["id"].startswith("osp:like:")
    assert [r["id"] for r in node.social.about(TRACK)] == [like["id"]]
    assert node.social.announced_tracks() == [TRACK]
    node.clock = lambda: 1_795_000_100.0  # a later record
    endorsed = SigningKey.generate().did
    endorsement = node.social.create("endorsement", {"subject": endorsed})
    assert node.social.create("endorsement", {"subject": endorsed}) == endorsement  # the one held
    with pytest.raises(ConflictError, match=f"retract it first \\(osp retract {endorsement['id']}\\)"):
        node.social.create("endorsement", {"subject": endorsed, "text": "other words"})
    assert node.social.announced_tracks() == [TRACK]  # only comments, likes and flags on tracks
    assert len(node.social.own_records(100, 10**6)) == 2
    newest = node.social.own_records(1, 10**6)
    assert len(newest) == 1 and b"osp:Endorsement" in newest[0]  # the newest first
    assert node.social.own_records(100, 10) == []  # no room: nothing
    with pytest.raises(CallerError):
        node.social.create("comment", {"subject": TRACK, "text": ""})
    assert node.social.create("like", {"subject": TRACK}) == like  # liked already: the like held
    comment = node.social.create("comment", {"subject": TRACK, "text": "again"})
    with pytest.raises(ConflictError):
        node.social.create("comment", {"subject": TRACK, "text": "again"})  # the same record (same second)
    assert comment["id"] in {r["id"] for r in node.social.about(TRACK)}


def test_a_node_without_its_key_says_so(tmp_path: Path) -> None:
    bare = Node(Settings(data_dir=tmp_path / "bare", dht=False))
    try:
        with pytest.raises(KeystoreError):
            bare.social.create("like", {"subject": TRACK})
    finally:
        bare.close()


def test_retract_only_our_own_records(node: Node) -> None:
    comment = node.social.create("comment", {"subject": TRACK, "text": "hello"})
    theirs = peer_record("comment", {"subject": TRACK, "text": "theirs"})
    assert node.social.ingest([theirs], source="http://198.51.100.1:8787") == 1
    with pytest.raises(CallerError, match="only the author"):
        node.social.create("tombstone", {"subject": theirs["id"]})
    with pytest.raises(NotFoundError):
        node.social.create("tombstone", {"subject": comment["id"].replace("osp:comment:b", "osp:comment:c")})
    tomb = node.social.create("tombstone", {"subject": comment["id"]})
    with pytest.raises(CallerError, match="cannot be retracted"):
        node.social.create("tombstone", {"subject": tomb["id"]})
    assert [r["id"] for r in node.social.about(TRACK)] == [theirs["id"]]
    answer = json.loads(node.social.peer_answer(TRACK))
    assert [r["id"] for r in answer["records"]] == [tomb["id"], theirs["id"]]  # the tombstone first
    assert node.social.ingest([comment], source="http://198.51.100.1:8787") == 0  # stays removed


def test_a_peers_tombstone_is_served_under_the_track_it_retracted(node: Node) -> None:
    key = SigningKey.generate()
    comment = peer_record("comment", {"subject": TRACK, "text": "soon gone"}, key)
    tomb = peer_record("tombstone", {"subject": comment["id"]}, key, "2026-12-01T11:00:00Z")
    assert node.social.take_answer(TRACK, {"records": [tomb, comment]}, source="http://198.51.100.2:8787") == 2
    assert node.social.about(TRACK) == []  # the tombstone applied, whatever the order in the answer
    assert [r["id"] for r in json.loads(node.social.peer_answer(TRACK))["records"]] == [tomb["id"]]
    assert json.loads(node.social.peer_answer(OTHER))["records"] == []


def test_a_bad_batch_stores_nothing_and_a_lenient_one_skips_the_bad(node: Node) -> None:
    good = peer_record("like", {"subject": TRACK})
    forged = dict(peer_record("like", {"subject": TRACK}), author=SigningKey.generate().did)
    with pytest.raises(IntegrityError):
        node.social.ingest([good, forged], source="http://198.51.100.3:8787")
    assert node.social.about(TRACK) == []
    assert node.social.ingest([good, forged, "junk"], source="http://198.51.100.3:8787", strict=False) == 1
    # a copy of a held record is not verified again, but one with the same id and other bytes is
    assert node.social.ingest([good], source="http://198.51.100.3:8787") == 0
    with pytest.raises(IntegrityError):
        node.social.ingest([dict(good, created="2026-12-02T10:00:00Z")], source="http://198.51.100.3:8787")


def test_the_peer_answer_is_capped_newest_first(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [peer_record("like", {"subject": TRACK}, created=f"2026-12-01T10:{i:02d}:00Z") for i in range(12)]
    assert node.social.ingest(records, source="http://198.51.100.4:8787") == 12
    monkeypatch.setattr("osp.node.social.MAX_ANSWER_RECORDS", 5)
    answer = json.loads(node.social.peer_answer(TRACK))
    assert answer["truncated"] is True
    assert [r["created"] for r in answer["records"]] == [f"2026-12-01T10:{i:02d}:00Z" for i in (11, 10, 9, 8, 7)]
    monkeypatch.setattr("osp.node.social.MAX_ANSWER_RECORDS", 200)
    monkeypatch.setattr("osp.node.social.MAX_ANSWER_BYTES", 3000)
    answer = json.loads(node.social.peer_answer(TRACK))
    assert answer["truncated"] is True and 0 < len(answer["records"]) < 12
    assert len(node.social.peer_answer(TRACK)) <= 3000
    with pytest.raises(CallerError):
        node.social.peer_answer("osp:comment:x")


def test_records_per_peer_per_minute_are_capped(node: Node) -> None:
    node.social.budget = intake.IntakeBudget(rate=3)
    many = [peer_record("like", {"subject": TRACK}) for _ in range(5)]
    assert node.social.ingest(many, source="http://198.51.100.5:8787") == 3
    assert node.social.ingest(many[3:], source="http://198.51.100.5:8787") == 0  # no budget left this minute
    node.social.budget = intake.IntakeBudget(rate=3)
    assert node.social.ingest(many, source="http://198.51.100.7:8787") == 0  # all held: nothing counted
    more = [peer_record("like", {"subject": TRACK}) for _ in range(3)]
    assert node.social.ingest(more, source="http://198.51.100.7:8787") == 3
    assert node.social.ingest(many[3:], source="http://198.51.100.6:8787") == 2  # another peer has its own


def test_an_answer_carries_tombstones_only_of_records_about_the_track(node: Node) -> None:
    """A peer cannot fill our tombstoned table with tombstones of anything (spec §10.5)."""
    key = SigningKey.from_seed(bytes(range(3, 35)))
    held = peer_record("comment", {"subject": TRACK, "text": "held"}, key)
    sent = peer_record("comment", {"subject": TRACK, "text": "sent along"}, key)
    elsewhere = peer_record("comment", {"subject": OTHER, "text": "on another track"}, key)
    unseen = peer_record("like", {"subject": TRACK}, key)
    assert node.social.ingest([held, elsewhere], source="http://198.51.100.20:1") == 2
    tombs = [peer_record("tombstone", {"subject": r["id"]}, key, f"2026-12-01T11:00:0{i}Z")
             for i, r in enumerate((held, sent, elsewhere, unseen))]
    answer = {"records": [*tombs, sent], "truncated": False}
    # stored: the comment sent along, then the two tombstones of records about the track (no error: the
    # others are dropped, not held against the peer)
    assert node.social.take_answer(TRACK, answer, source="http://198.51.100.21:1") == 3
    records = node.social.records
    assert records.is_tombstoned(held["id"]) and records.is_tombstoned(sent["id"])
    assert not records.is_tombstoned(elsewhere["id"]) and not records.is_tombstoned(unseen["id"])
    assert records.get(elsewhere["id"]) is not None and records.get(tombs[3]["id"]) is None


def test_the_budget_is_one_per_address_whatever_the_port(node: Node) -> None:
    """One host answering lookups from many ports gets one budget (spec §10.5)."""
    node.social.budget = intake.IntakeBudget(rate=3)
    many = [peer_record("comment", {"subject": TRACK, "text": f"port {i}"}) for i in range(6)]
    taken = [node.social.take_answer(TRACK, {"records": [r], "truncated": False},
                                     source=f"http://198.51.100.5:{8000 + i}") for i, r in enumerate(many[:4])]
    assert taken == [1, 1, 1, 0]
    assert node.social.ingest(many[4:5], source="http://[2001:db8:1:2::7]:9000") == 1
    assert node.social.ingest(many[5:], source="http://[2001:db8:1:2:ffff::1]:9001") == 1  # same /64, budget 3
    node.social.budget = intake.IntakeBudget(rate=1)
    assert node.social.ingest(many[4:], source="http://[2001:db8:1:2:ffff::1]:9001") == 0  # held: nothing counted


def test_publishing_a_local_playlist_makes_versions(node: Node) -> None:
    local = Playlists(node.library).create("Mix", [TRACK, OTHER, TRACK], node.clock())
    first = node.social.publish_playlist(local.id)
    Playlists(node.library).replace(local.id, node.clock(), tracks=[OTHER])
    second = node.social.publish_playlist(local.id)
    assert (first["seq"], second["seq"]) == (1, 2) and second["tracks"] == [OTHER]
    assert [r.id for r in node.social.records.playlists()] == [second["id"]]
    tomb = node.social.create("tombstone", {"subject": second["id"]})  # retracted: the next version is above it
    assert (tomb["playlist"], tomb["seq"]) == (local.id, 2)  # spec §10.2 rule 3: for holders of older versions
    assert node.social.records.playlists() == []
    assert node.social.publish_playlist(local.id)["seq"] == 3
    big = Playlists(node.library).create("Big", [TRACK] * 501, node.clock())
    with pytest.raises(CallerError, match="at most 500"):
        node.social.publish_playlist(big.id)
    with pytest.raises(NotFoundError):
        node.social.publish_playlist("pl-AAAAAAAAAAAAAAAA")


def test_the_plan_puts_talked_about_tracks_after_held_tracks_and_within_the_cap() -> None:
    held = announce.Holding(record={"id": OTHER, "artist": "did:key:z6Mkx", "tags": ["ambient"]},
                            infohash="ab" * 20, mine=False, last_played=0.0)
    plan = announce.plan([held], extra_tracks=[TRACK, OTHER])
    labels = [a.label for a in plan]
    track_key = rendezvous_key("track", TRACK)
    assert labels.index(track_key.label) == labels.index(f"infohash:{'ab' * 20}") + 1  # before tags
    assert sum(1 for a in plan if a.key == rendezvous_key("track", OTHER).digest) == 1  # once
    assert len(announce.plan([held], cap=3, extra_tracks=[TRACK])) == 3


def test_following_signs_a_follow_and_unfollowing_retracts_it(node: Node, tmp_path: Path) -> None:
    from osp.node import feeds

    artist = SigningKey.generate().did
    feeds.follow(node, artist)
    feeds.follow(node, artist, audio=True)  # again: the same Follow record
    feeds.follow(node, artist)  # again without audio given: the setting is kept
    assert node.library.follow(artist) is not None and node.library.follow(artist).audio  # type: ignore[union-attr]
    feeds.follow(node, artist, audio=False)
    assert not node.library.follow(artist).audio  # type: ignore[union-attr]
    (held,) = node.social.records.about(artist, kinds=("follow",))
    assert held.author == node.signing_key().did
    feeds.unfollow(node, artist)
    assert node.social.records.about(artist, kinds=("follow",)) == []
    assert node.social.records.is_tombstoned(held.id)
    bare = Node(Settings(data_dir=tmp_path / "bare", dht=False))  # no identity: the follow alone
    try:
        feeds.follow(bare, artist)
        assert [f["did"] for f in feeds.following(bare)] == [artist]
        assert bare.social.records.about(artist) == []
        feeds.unfollow(bare, artist)
    finally:
        bare.close()


def test_retractions_or_future_dates_cannot_fill_the_peer_answer(node: Node) -> None:
    """One identity's 200 comments, each retracted, or 200 comments dated 9999: the answer
    still carries the honest comment (tombstones are capped, order is by arrival)."""
    honest = peer_record("comment", {"subject": TRACK, "text": "honest"})
    assert node.social.ingest([honest], source="http://198.51.100.8:8787") == 1
    spammer = SigningKey.generate()
    comments = [peer_record("comment", {"subject": TRACK, "text": f"spam {i}"}, spammer) for i in range(120)]
    tombstones = [peer_record("tombstone", {"subject": c["id"]}, spammer) for c in comments]
    node.social.budget = intake.IntakeBudget(rate=10_000)
    node.social.ingest(comments, source="http://198.51.100.9:8787")
    node.social.ingest(tombstones, source="http://198.51.100.9:8787")
    ahead = [peer_record("comment", {"subject": TRACK, "text": f"first {i}"}, created="9999-12-31T23:59:59Z")
             for i in range(3)]
    node.social.ingest(ahead, source="http://198.51.100.10:8787")  # refused: dated ahead of the clock
    answer = json.loads(node.social.peer_answer(TRACK))
    kinds = [r["type"] for r in answer["records"]]
    assert kinds.count("osp:Tombstone") == 50 and answer["truncated"] is True
    assert honest["id"] in [r["id"] for r in answer["records"]]
    assert not any(r.get("text", "").startswith("first") for r in answer["records"])
