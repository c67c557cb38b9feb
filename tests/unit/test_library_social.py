"""The social records repository on a real SQLite library: newest playlist version,
tombstones (own records only, also before their subject arrives), the per-author cap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osp.identity import SigningKey
from osp.library.social import SocialRecords
from osp.library.store import Library
from osp.records.social import VerifiedSocial, build_social, sign_social, verify_social

ALICE = SigningKey.from_seed(bytes(range(32)))
BOB = SigningKey.from_seed(bytes(range(1, 33)))
TRACK = "osp:track:bagaaieravryjfmhg2alp7owjqfkutwcfsfhaznplrtoyl6sa6sj3lji6gb7q"
TRACK2 = "osp:track:bagaaieratdcgbpqzbaq4rvxoovigsejxx5bxebdgntyoc4fip4gmwgrk2rzq"
SERIES = "pl-AbCdEfGhIjKlMn_-"


def rec(kind: str, key: SigningKey = ALICE, second: int = 0, **fields: Any) -> VerifiedSocial:
    created = f"2026-12-01T12:00:{second:02d}Z"
    return verify_social(sign_social(build_social(kind, key.did, fields), key, created))


def playlist(seq: int, key: SigningKey = ALICE, title: str = "Night drive") -> VerifiedSocial:
    return rec("playlist", key, seq % 60, playlist=SERIES, seq=seq, title=title, tracks=[TRACK, TRACK2])


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SocialRecords]:
    with Library(tmp_path / "library.sqlite3") as library:
        yield SocialRecords(library)


def test_add_get_about_by_author_edges(repo: SocialRecords) -> None:
    like = rec("like", subject=TRACK)
    comment = rec("comment", BOB, 1, subject=TRACK, text="nice", at=3.5)
    follow = rec("follow", second=3, subject=BOB.did)
    endorse = rec("endorsement", BOB, 2, subject=ALICE.did, text="good ears")
    for v in (like, comment, follow, endorse):
        assert repo.add(v, own=v.author == ALICE.did, now=100.0)
    assert not repo.add(like, own=True, now=101.0)  # known already
    row = repo.get(comment.id)
    assert row is not None and row.record == comment.record and row.origin == "peer" and not row.own
    assert (row.kind, row.author, row.subject, row.received, row.created) == (
        "comment", BOB.did, TRACK, 100.0, "2026-12-01T12:00:01Z")
    assert repo.get(like.id).own  # type: ignore[union-attr]
    assert [r.id for r in repo.about(TRACK)] == [like.id, comment.id]  # oldest first
    assert [r.id for r in repo.about(TRACK, ["comment"])] == [comment.id]
    assert [r.id for r in repo.by_author(ALICE.did)] == [like.id, follow.id]
    assert [r.id for r in repo.by_author(ALICE.did, ["follow", "endorsement"])] == [follow.id]
    assert sorted(repo.edges(["follow", "endorsement"])) == sorted([
        (ALICE.did, "follow", BOB.did, follow.created), (BOB.did, "endorsement", ALICE.did, endorse.created)])
    assert repo.count_by_author(ALICE.did) == 2 and repo.count_by_author("did:key:z6Mknobody") == 0
    assert repo.get("osp:like:nope") is None
    with pytest.raises(ValueError):
        repo.about(TRACK, ["repost"])


def test_newest_playlist_version_wins(repo: SocialRecords) -> None:
    v1, v2, v3 = playlist(1), playlist(2, title="Night drive II"), playlist(3)
    assert repo.add(v2, own=False, now=1.0)
    assert not repo.add(v1, own=False, now=2.0)  # older
    assert not repo.add(rec("playlist", ALICE, 9, playlist=SERIES, seq=2, title="same seq", tracks=[]),
                        own=False, now=2.0)  # equal seq, other content
    assert [p.id for p in repo.playlists()] == [v2.id]
    assert repo.add(v3, own=False, now=3.0)
    assert repo.get(v2.id) is None and [p.seq for p in repo.playlists(ALICE.did)] == [3]
    assert not repo.add(v2, own=False, now=4.0)  # the replaced version does not come back
    bobs = playlist(1, BOB)  # same series id, another author: another series
    assert repo.add(bobs, own=False, now=5.0)
    assert {p.author for p in repo.playlists()} == {ALICE.did, BOB.did} and repo.playlists(BOB.did)[0].id == bobs.id
    assert repo.count_by_author(ALICE.did) == 1


def test_tombstone_removes_and_keeps_out(repo: SocialRecords) -> None:
    comment = rec("comment", subject=TRACK, text="oops")
    assert repo.add(comment, own=False, now=1.0)
    tomb = rec("tombstone", second=5, subject=comment.id)
    assert repo.add(tomb, own=False, now=2.0)
    assert repo.get(comment.id) is None and repo.about(TRACK) == [] and repo.is_tombstoned(comment.id)
    assert repo.get(tomb.id) is not None  # the tombstone itself travels on (feeds, track lookups)
    assert [r.id for r in repo.about(comment.id, ["tombstone"])] == [tomb.id]
    assert not repo.add(comment, own=False, now=3.0)  # a later copy is refused
    assert not repo.add(rec("tombstone", second=6, subject=comment.id), own=False, now=3.0)  # nothing new
    assert repo.count_by_author(ALICE.did) == 1
    assert [r.id for r in repo.tombstones_about(TRACK)] == [tomb.id]  # passed on with the track's records
    assert repo.tombstones_about(TRACK2) == []


def test_tombstone_before_its_subject(repo: SocialRecords) -> None:
    comment = rec("comment", subject=TRACK, text="seen late")
    tomb = rec("tombstone", second=5, subject=comment.id)
    assert repo.add(tomb, own=False, now=1.0)
    assert repo.tombstones_about(TRACK) == []  # not known yet what the removed record was about
    assert not repo.add(comment, own=False, now=2.0)
    assert repo.get(comment.id) is None
    assert [r.id for r in repo.tombstones_about(TRACK)] == [tomb.id]  # learnt from the refused copy


def test_only_the_author_can_tombstone(repo: SocialRecords) -> None:
    comment = rec("comment", subject=TRACK, text="mine")
    assert repo.add(comment, own=False, now=1.0)
    assert not repo.add(rec("tombstone", BOB, 5, subject=comment.id), own=False, now=2.0)  # known, not Bob's
    assert repo.get(comment.id) is not None
    # Bob tombstones a record we have not seen yet: kept, but dropped when the record turns
    # out to be Alice's, which is stored
    later = rec("comment", second=9, subject=TRACK, text="not seen yet")
    bogus = rec("tombstone", BOB, 6, subject=later.id)
    assert repo.add(bogus, own=False, now=3.0) and repo.is_tombstoned(later.id, BOB.did)
    assert repo.add(later, own=False, now=4.0)
    assert repo.get(later.id) is not None and repo.get(bogus.id) is None and not repo.is_tombstoned(later.id)
    assert not repo.add(bogus, own=False, now=5.0)  # sent again: its subject is known now, and not Bob's


def test_tombstoned_playlist_series_keeps_its_seq(repo: SocialRecords) -> None:
    v1, v2 = playlist(1), playlist(2)
    assert repo.add(v2, own=False, now=1.0)
    assert repo.add(rec("tombstone", second=50, subject=v2.id), own=False, now=2.0)
    assert repo.playlists() == []
    assert not repo.add(v1, own=False, now=3.0)  # an older version does not resurrect the series
    assert repo.add(playlist(3), own=False, now=4.0)  # a newer one is a new publication


def test_tombstone_of_an_unseen_playlist_version_deletes_older_ones_once_it_shows(repo: SocialRecords) -> None:
    v1, v2 = playlist(1), playlist(2)
    assert repo.add(v1, own=False, now=1.0)
    assert repo.add(rec("tombstone", second=50, subject=v2.id), own=False, now=2.0)  # v2 not seen yet
    assert [p.id for p in repo.playlists()] == [v1.id]
    assert not repo.add(v2, own=False, now=3.0)  # now we know it deleted the series up to seq 2
    assert repo.playlists() == [] and not repo.add(v1, own=False, now=4.0)


def test_per_author_cap_refuses_new_records_keeps_old(tmp_path: Path) -> None:
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library, max_per_author=3)
        likes = [rec("like", BOB, 0, subject=TRACK), rec("like", BOB, 1, subject=TRACK2),
                 rec("comment", BOB, 2, subject=TRACK, text="three")]
        for v in likes:
            assert repo.add(v, own=False, now=1.0)
        extra = rec("comment", BOB, 30, subject=TRACK2, text="four")
        assert not repo.add(extra, own=False, now=2.0)
        assert [r.id for r in repo.by_author(BOB.did)] == [v.id for v in likes]  # the oldest are kept
        assert repo.add(rec("tombstone", BOB, 40, subject=likes[0].id), own=False, now=3.0)  # replaces a row
        assert repo.count_by_author(BOB.did) == 3
        assert not repo.add(rec("tombstone", BOB, 41, subject=extra.id), own=False, now=3.0)  # unknown: +1
        p1 = playlist(1, BOB)
        assert not repo.add(p1, own=False, now=4.0)
        assert repo.add(extra, own=True, now=5.0)  # our own records are not capped here
        assert repo.count_by_author(ALICE.did) == 0


def test_survives_reopen(tmp_path: Path) -> None:
    comment = rec("comment", subject=TRACK, text="persisted")
    with Library(tmp_path / "l.sqlite3") as library:
        repo = SocialRecords(library)
        assert repo.add(comment, own=True, now=1.0)
        assert repo.add(rec("tombstone", second=3, subject=comment.id), own=True, now=2.0)
    with Library(tmp_path / "l.sqlite3") as library:
        repo = SocialRecords(library)
        assert not repo.add(comment, own=False, now=3.0) and repo.count_by_author(ALICE.did) == 1


def test_add_many_applies_the_rules_in_order(repo: SocialRecords) -> None:
    comment = rec("comment", subject=TRACK, text="batch")
    batch = [playlist(2), playlist(1), comment, rec("tombstone", second=7, subject=comment.id), comment, playlist(3)]
    assert repo.add_many(batch, own=False, now=1.0) == 4  # v2, the comment, its tombstone, v3
    assert [p.seq for p in repo.playlists()] == [3] and repo.get(comment.id) is None
    assert repo.add_many([], own=False, now=2.0) == 0


def test_a_record_dated_ahead_or_a_repeated_like_is_refused(repo: SocialRecords) -> None:
    """A future ``created`` would sort first for ever; the same like repeated would fill a view."""
    ahead = verify_social(sign_social(build_social("comment", BOB.did, {"subject": TRACK, "text": "first!"}), BOB,
                                      "9999-12-31T23:59:59Z"))
    assert not repo.add(ahead, own=False, now=100.0)
    assert repo.add(rec("like", BOB, 1, subject=TRACK), own=False, now=100.0)
    assert not repo.add(rec("like", BOB, 2, subject=TRACK), own=False, now=100.0)  # one like per author and track
    assert repo.add(rec("like", BOB, 2, subject=TRACK2), own=False, now=100.0)
    assert repo.add(rec("endorsement", BOB, 3, subject=ALICE.did), own=False, now=100.0)
    assert not repo.add(rec("endorsement", BOB, 4, subject=ALICE.did, text="again"), own=False, now=100.0)


def test_about_keeps_the_records_received_last_whatever_their_date(repo: SocialRecords) -> None:
    honest = rec("comment", ALICE, 30, subject=TRACK, text="honest")
    assert repo.add(honest, own=False, now=200.0)  # received last
    for i in range(5):  # backdated: they would sort first by date
        old = verify_social(sign_social(build_social("comment", BOB.did, {"subject": TRACK, "text": f"spam {i}"}), BOB,
                                        f"2001-01-01T00:00:0{i}Z"))
        assert repo.add(old, own=False, now=100.0 + i)
    kept = repo.about(TRACK, limit=3)
    assert honest.id in [r.id for r in kept] and [r.created for r in kept] == sorted(r.created for r in kept)


def tomb_of(version: VerifiedSocial, key: SigningKey = ALICE, second: int = 59, **members: Any) -> VerifiedSocial:
    """A tombstone of ``version`` naming its series and seq (spec §10.2 rule 3) unless
    ``members`` says otherwise."""
    fields = {"playlist": version.playlist, "seq": version.seq, **members}
    return rec("tombstone", key, second, subject=version.id, **{k: v for k, v in fields.items() if v is not None})


def test_a_playlist_tombstone_reaches_a_holder_of_an_older_version_only(repo: SocialRecords) -> None:
    v1, v2, v3 = playlist(1), playlist(2), playlist(3)
    assert repo.add(v1, own=False, now=1.0)
    assert repo.add(tomb_of(v2), own=False, now=2.0)  # v2 never seen here: its series and seq say enough
    assert repo.get(v1.id) is None and repo.playlists(ALICE.did) == []
    assert not repo.add(v1, own=False, now=3.0) and not repo.add(v2, own=False, now=3.0)  # both ≤ seq 2
    assert repo.add(v3, own=False, now=4.0)  # a new publication
    # a tombstone only touches its own author's series: Bob's tombstone naming Alice's series is his own
    bob_v1 = playlist(1, BOB)
    assert repo.add(bob_v1, own=False, now=5.0)
    assert repo.add(tomb_of(playlist(9), BOB), own=False, now=6.0)  # Bob's series SERIES up to 9
    assert repo.get(v3.id) is not None and repo.get(bob_v1.id) is None


def test_a_playlist_tombstone_naming_another_series_or_seq_is_refused_or_dropped(repo: SocialRecords) -> None:
    v2 = playlist(2)
    assert repo.add(v2, own=False, now=1.0)
    assert not repo.add(tomb_of(v2, seq=5), own=False, now=2.0)  # held subject: seq 2, not 5
    assert not repo.add(tomb_of(v2, playlist="pl-0000000000000000"), own=False, now=2.0)
    assert repo.get(v2.id) is not None
    # before the subject: kept and applied from its members; the subject then shows it lied
    v4 = playlist(4)
    liar = tomb_of(v4, seq=3)
    assert repo.add(liar, own=False, now=3.0)
    assert repo.get(v2.id) is None  # the author's own series up to 3: gone, and stays gone
    assert repo.add(v4, own=False, now=4.0)  # seq 4 > 3: stored, and the tombstone was not its own
    assert repo.get(liar.id) is None and not repo.is_tombstoned(v4.id)
    assert not repo.add(v2, own=False, now=5.0)
    # a tombstone that told the truth still refuses its subject
    v5 = playlist(5)
    assert repo.add(tomb_of(v5), own=False, now=6.0)
    assert not repo.add(v5, own=False, now=7.0) and repo.get(v4.id) is None


def test_a_playlist_tombstone_passes_at_the_cap_when_it_ends_a_held_version(tmp_path: Path) -> None:
    with Library(tmp_path / "library.sqlite3") as library:
        small = SocialRecords(library, max_per_author=1)
        v1 = playlist(1)
        assert small.add(v1, own=False, now=1.0)
        assert small.add(tomb_of(playlist(2)), own=False, now=2.0)  # replaces v1's row
        assert small.count_by_author(ALICE.did) == 1


def test_per_author_byte_cap_refuses_past_it_in_one_batch_or_many(tmp_path: Path) -> None:
    """5,000 records of 64 KiB would be 320 MiB: a peer identity holds at most a byte cap."""
    big = [rec("comment", BOB, i, subject=TRACK, text=f"{i:02d}" + "x" * 1998) for i in range(6)]
    size = len(big[0].to_json())
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library, max_bytes_per_author=3 * size + 10)
        assert repo.add_many(big[:5], own=False, now=1.0) == 3  # the rest of the batch: refused
        assert not repo.add(big[5], own=False, now=2.0)  # later too
        assert [r.id for r in repo.by_author(BOB.did)] == [v.id for v in big[:3]]  # the oldest are kept
        like = rec("like", BOB, 30, subject=TRACK2)
        assert not repo.add(like, own=False, now=3.0)
        assert repo.add(rec("tombstone", BOB, 40, subject=big[0].id), own=False, now=3.0)  # a retraction passes
        assert repo.add(like, own=False, now=4.0)  # and made room
        assert repo.add(big[5], own=True, now=6.0)  # our own records are not capped
        assert repo.count_by_author(ALICE.did) == 0


def test_a_playlist_version_passes_the_byte_cap_only_if_the_swap_fits(tmp_path: Path) -> None:
    small = playlist(1, BOB)
    bigger = rec("playlist", BOB, 2, playlist=SERIES, seq=2, title="Night drive", tracks=[TRACK] * 400)
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library, max_bytes_per_author=len(small.to_json()) + 100)
        assert repo.add(small, own=False, now=1.0)
        assert not repo.add(bigger, own=False, now=2.0)
        same_size = rec("playlist", BOB, 3, playlist=SERIES, seq=3, title="Night drivf", tracks=[TRACK, TRACK2])
        assert repo.add(same_size, own=False, now=3.0)
