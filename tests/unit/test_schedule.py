"""The request-scheduling policy (``osp.distribution.schedule``, ``webseed.pick_run``): pure."""

from __future__ import annotations

import pytest

from osp.distribution.schedule import STEP_MS, probe_pieces, read_window
from osp.distribution.webseed import pick_run

KiB = 1024
P = 16 * KiB  # the piece length of a 3 MB track (spec §7.1)
SIZE = 200 * P - 1000  # 200 pieces, the last one short


def test_a_read_wants_its_urgent_bytes_now_then_a_rolling_read_ahead() -> None:
    w = read_window(10 * P + 5, SIZE, P, urgent=64 * KiB, ahead=3 * P)
    assert w.preempt
    # 64 KiB from inside piece 10 touch pieces 10..14; the read-ahead 15..17
    assert [p for p, _ in w.pieces] == [10, 11, 12, 13, 14, 15, 16, 17]
    assert [d for _, d in w.pieces][:5] == [0, 1, 2, 3, 4]  # in order, all due now
    assert [d for _, d in w.pieces][5:] == [5 + STEP_MS, 5 + 2 * STEP_MS, 5 + 3 * STEP_MS]
    assert w.urgent == (10, 11, 12, 13, 14)


def test_pieces_here_are_left_out_and_the_window_stops_at_the_end() -> None:
    have = {198, 199}.__contains__
    w = read_window(SIZE - 100, SIZE, P, have)
    assert w.pieces == ()
    w = read_window(197 * P, SIZE, P, have, urgent=P)
    assert [p for p, _ in w.pieces] == [197]


def test_pinned_probe_pieces_keep_the_order_players_read_them_in() -> None:
    probe = probe_pieces(SIZE, P)  # [0, 195..199, 1, 2, 3]
    # ffmpeg reads the head, then jumps to the tail, then back: the tail comes before the
    # rest of the head even though the head's read asked for 64 KiB
    w = read_window(0, SIZE, P, pinned=probe, urgent=64 * KiB, ahead=0)
    assert [p for p, _ in w.pieces] == [0, 195, 196, 197, 198, 199, 1, 2, 3]
    assert [d for _, d in w.pieces] == list(range(9))
    # the tail read: the tail first, then the head it will come back to
    tail = read_window(SIZE - 64 * KiB, SIZE, P, {0}.__contains__, pinned=probe, ahead=0)
    assert [p for p, _ in tail.pieces] == [195, 196, 197, 198, 199, 1, 2, 3]
    # a seek elsewhere puts missing probe pieces after its own urgent ones
    seek = read_window(100 * P, SIZE, P, set(probe[:3]).__contains__, pinned=probe, urgent=2 * P, ahead=0)
    assert [p for p, _ in seek.pieces] == [100, 101, 197, 198, 199, 1, 2, 3]
    # with the probe pieces here nothing pinned is asked for
    here = set(probe).__contains__
    assert [p for p, _ in read_window(100 * P, SIZE, P, here, pinned=probe, urgent=P, ahead=0).pieces] == [100]


def test_probe_pieces_follow_what_ffmpeg_reads_first() -> None:
    assert probe_pieces(SIZE, P) == [0, 195, 196, 197, 198, 199, 1, 2, 3]
    assert probe_pieces(3 * P, P) == [0, 1, 2]  # a short file: every piece once
    assert probe_pieces(0, P) == []


@pytest.mark.parametrize("start", [-1, SIZE])
def test_a_read_outside_the_file_is_refused(start: int) -> None:
    with pytest.raises(ValueError):
        read_window(start, SIZE, P)


def test_pick_run_takes_the_first_free_run_in_wanted_order() -> None:
    nothing = set[int]().__contains__
    assert pick_run([5, 6, 7, 9], nothing, set(), 8) == (5, 7)
    assert pick_run([5, 6, 7, 9], nothing, set(), 2) == (5, 6)
    assert pick_run([5, 6, 7, 9], {5}.__contains__, set(), 8) == (6, 7)
    assert pick_run([5, 6, 7, 9], nothing, {6}, 8) == (5, 5)  # taken by the other lane
    assert pick_run([190, 191, 0, 1], nothing, set(), 8) == (190, 191)  # wanted order, not index order
    assert pick_run([], nothing, set(), 8) is None
    assert pick_run([1, 2], {1, 2}.__contains__, set(), 8) is None


def test_web_seeds_carry_the_bulk_only_while_the_swarm_is_away() -> None:
    from osp.distribution.schedule import BULK_GRACE, http_bulk

    started = 100.0
    assert not http_bulk(started + 0.5, 0, started)  # the swarm may still be connecting
    assert http_bulk(started + BULK_GRACE, 0, started)  # it is not coming
    assert not http_bulk(started + 10, 1, started + 10)  # a peer is here
    assert not http_bulk(started + 11, 0, started + 10)  # it just left: give another one time
    assert http_bulk(started + 10 + BULK_GRACE, 0, started + 10)


def test_web_seeds_fetch_urgent_pieces_while_the_swarm_is_away_or_late() -> None:
    from osp.distribution.schedule import HTTP_LATE, http_urgent

    wanted = 50.0
    assert http_urgent(wanted, wanted, 0)  # no BitTorrent peer yet: HTTP at once
    assert not http_urgent(wanted + 0.1, wanted, 2)  # the swarm is here: it goes first
    assert http_urgent(wanted + HTTP_LATE, wanted, 2)  # late: HTTP too
