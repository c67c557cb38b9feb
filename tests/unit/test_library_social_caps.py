"""The total caps of the social records repository (spec §10.3, finding 4): rows in all and
bytes of peers' record JSON in all; past either the oldest received rows of authors the
listener does not follow are evicted, never own records nor followed authors', so a flood
of identities neither fills the disk nor locks every newcomer out; an evicted Tombstone
still keeps what it removed removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from osp.identity import SigningKey
from osp.library.social import SocialRecords
from osp.library.store import Library
from osp.records.social import VerifiedSocial, build_social, sign_social, verify_social

ME = SigningKey.from_seed(bytes(range(32)))
FRIEND = SigningKey.from_seed(bytes(range(1, 33)))
TRACK = "osp:track:bagaaieravryjfmhg2alp7owjqfkutwcfsfhaznplrtoyl6sa6sj3lji6gb7q"


def key(i: int) -> SigningKey:
    return SigningKey.from_seed(i.to_bytes(32, "big"))


def rec(kind: str, k: SigningKey, **fields: Any) -> VerifiedSocial:
    return verify_social(sign_social(build_social(kind, k.did, fields), k, "2026-12-01T12:00:00Z"))


def comment(k: SigningKey, text: str = "x") -> VerifiedSocial:
    return rec("comment", k, subject=TRACK, text=text)


def follow(library: Library, did: str) -> None:
    with library.transaction() as db:
        db.execute("INSERT INTO follows (did, followed_at) VALUES (?, 0)", (did,))


def ids(repo: SocialRecords) -> set[str]:
    with repo.library.transaction() as db:
        return {str(r[0]) for r in db.execute("SELECT id FROM social")}


def test_past_the_row_cap_the_oldest_unfollowed_peer_rows_go(tmp_path: Path) -> None:
    with Library(tmp_path / "library.sqlite3") as library:
        follow(library, FRIEND.did)
        repo = SocialRecords(library, max_total_rows=4)
        mine, friends = comment(ME, "mine"), comment(FRIEND, "friend")
        old, newer = comment(key(10), "old"), comment(key(11), "newer")
        for n, v in enumerate([old, mine, friends, newer]):
            assert repo.add(v, own=v is mine, now=float(n))
        # full (4 rows): a stranger's record evicts the oldest received stranger's row
        late = comment(key(12), "late")
        assert repo.add(late, own=False, now=10.0)
        assert ids(repo) == {mine.id, friends.id, newer.id, late.id}
        # a flood of new identities cycles through the strangers' rows; own and followed stay
        flood = [comment(key(100 + i), f"flood {i}") for i in range(20)]
        assert all(repo.add(v, own=False, now=20.0 + i) for i, v in enumerate(flood))
        assert ids(repo) == {mine.id, friends.id, flood[-2].id, flood[-1].id}
        # and an honest newcomer still gets in (no lock-out)
        honest = comment(key(13), "honest")
        assert repo.add(honest, own=False, now=30.0) and honest.id in ids(repo)


def test_with_nothing_to_evict_strangers_are_refused_and_own_and_followed_pass(tmp_path: Path) -> None:
    with Library(tmp_path / "library.sqlite3") as library:
        follow(library, FRIEND.did)
        repo = SocialRecords(library, max_total_rows=2)
        assert repo.add(comment(ME, "a"), own=True, now=1.0)
        assert repo.add(comment(FRIEND, "b"), own=False, now=2.0)
        assert not repo.add(comment(key(10)), own=False, now=3.0)  # only own and followed rows held
        assert repo.add(comment(ME, "c"), own=True, now=4.0)
        assert repo.add(comment(FRIEND, "d"), own=False, now=5.0)  # within its per-author caps
        assert len(ids(repo)) == 4


def test_past_the_byte_cap_big_records_evict_by_bytes_and_own_bytes_do_not_count(tmp_path: Path) -> None:
    small = [comment(key(10 + i), f"small {i}") for i in range(6)]
    size = len(small[0].to_json())
    assert all(len(v.to_json()) == size for v in small)
    big = comment(key(50), "x" * 1900)
    cap = 6 * size + 10
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library, max_total_bytes=cap)
        assert repo.add(comment(ME, "y" * 1900), own=True, now=0.0)  # own: not counted
        assert repo.add_many(small, own=False, now=1.0) == 6
        assert repo.add(big, own=False, now=2.0)
        held = ids(repo)
        # the big one needed room (plus 1/64 of the cap): the oldest received (ties by id) went
        need = 6 * size + len(big.to_json()) - cap + cap // 64
        gone = [v for v in small if v.id not in held]
        assert len(gone) == -(-need // size) and big.id in held and 1 < len(gone) < 6
        assert sorted(v.id for v in gone) == sorted(v.id for v in small)[:len(gone)]
        with library.transaction() as db:
            (peer_bytes,) = db.execute("SELECT total(length(record)) FROM social WHERE origin='peer'").fetchone()
        assert peer_bytes <= cap


def test_an_evicted_tombstone_keeps_its_record_removed(tmp_path: Path) -> None:
    bob = key(10)
    like = rec("like", bob, subject=TRACK)
    tomb = rec("tombstone", bob, subject=like.id)
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library, max_total_rows=2)
        assert repo.add(like, own=False, now=1.0) and repo.add(tomb, own=False, now=2.0)
        assert ids(repo) == {tomb.id}
        assert repo.add_many([comment(key(20 + i), f"c{i}") for i in range(3)], own=False, now=3.0) == 3
        assert tomb.id not in ids(repo)  # evicted …
        assert repo.is_tombstoned(like.id, bob.did)
        assert not repo.add(like, own=False, now=4.0)  # … and the like stays removed


def test_the_running_byte_figure_is_recounted_before_anything_is_evicted(tmp_path: Path) -> None:
    """Peers' bytes in all are kept as a running figure (a sum reads every row); rows deleted
    behind its back only make it overstate, and it is counted anew before evicting."""
    small = [comment(key(10 + i), f"small {i}") for i in range(4)]
    size = len(small[0].to_json())
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library, max_total_bytes=4 * size + 10)
        assert repo.add_many(small, own=False, now=1.0) == 4
        with library.transaction() as db:  # e.g. another process's deletions
            db.execute("DELETE FROM social WHERE id IN (?, ?)", (small[0].id, small[1].id))
        later = [comment(key(20 + i), f"later {i}") for i in range(2)]
        assert repo.add_many(later, own=False, now=2.0) == 2
        assert ids(repo) == {v.id for v in small[2:] + later}  # nothing evicted: there was room


def test_the_removed_ids_of_evicted_tombstones_are_bounded_too(tmp_path: Path) -> None:
    """A stranger who comments and retracts again and again (each pair one row, then evicted)
    must not grow the ``tombstoned`` table for ever: at most ``max_total_rows`` such ids."""
    with Library(tmp_path / "library.sqlite3") as library:
        repo = SocialRecords(library, max_total_rows=3)
        for i in range(12):
            k = key(10 + i)
            c = comment(k, f"c{i}")
            assert repo.add(c, own=False, now=2.0 * i) and repo.add(rec("tombstone", k, subject=c.id),
                                                                    own=False, now=2.0 * i + 1)
        with library.transaction() as db:
            (orphans,) = db.execute("SELECT count(*) FROM tombstoned WHERE tombstone NOT IN "
                                    "(SELECT id FROM social)").fetchone()
            (rows,) = db.execute("SELECT count(*) FROM social").fetchone()
        assert rows <= 3 and orphans <= 3
