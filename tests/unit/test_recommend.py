"""``osp.social.recommend`` (pure): the signal matrix, ALS recommendations and their reasons,
exclusions, trust, the quality gate, cold start, "more like this"; and the node's refit rule
and signal stamps (``osp.node.recommend.refit_due``, ``osp.library.signals.changes``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from osp.library.signals import changes
from osp.node.recommend import REFIT_CHANGES, refit_due
from osp.social.recommend import (
    MAX_CONFIDENCE,
    USER_TRUST_FLOOR,
    WEIGHTS,
    AudioVectors,
    Params,
    Reason,
    Signals,
    TrustWeights,
    fit,
    listener_row,
    listener_seen,
    more_like_this,
    play_confidence,
    popular,
    recommend,
)

ME = "did:key:me"
GROUPS = 3
PER_GROUP = 12  #: tracks per taste group
FANS = 30  #: listeners per group


def track(g: int, i: int) -> str:
    return f"osp:track:g{g}t{i:02d}"


def artist(g: int, i: int) -> str:
    return f"did:key:a{g}{i % 3}"  # three artists per group


TRACKS = {track(g, i): artist(g, i) for g in range(GROUPS) for i in range(PER_GROUP)}


def community(**extra: object) -> Signals:
    """``FANS`` listeners per group, each liking 8 of its group's 12 tracks (a different 8 each)."""
    likes = []
    for g in range(GROUPS):
        for f in range(FANS):
            likes += [(f"did:key:fan{g}-{f}", track(g, (f + k) % PER_GROUP)) for k in range(8)]
    base: dict[str, object] = {"listener": ME, "likes": likes, "tracks": TRACKS}
    base.update(extra)
    return Signals(**base)  # type: ignore[arg-type]


def test_play_confidence_grows_with_seconds_and_is_capped() -> None:
    assert play_confidence(0) == 0 and play_confidence(-5) == 0 and play_confidence(math.nan) == 0
    assert play_confidence(30) == pytest.approx(math.log1p(0.5))
    assert play_confidence(30) < play_confidence(180) < play_confidence(3600)
    assert play_confidence(10 ** 9) == MAX_CONFIDENCE


def test_listener_row_weighs_plays_likes_playlists_and_follows() -> None:
    s = Signals(ME, likes=[(ME, track(0, 0)), ("did:key:x", track(0, 1))],
                playlists=[(ME, "pl-1", [track(0, 2), track(0, 2)])], follows=[(ME, artist(1, 0))],
                plays={track(0, 0): 180.0}, tracks=TRACKS)
    row = listener_row(s)
    assert row[track(0, 0)] == pytest.approx(WEIGHTS["like"] + math.log1p(3))
    assert track(0, 1) not in row  # someone else's like
    assert row[track(0, 2)] == WEIGHTS["playlist"]  # a repeat in one playlist counts once
    followed = [t for t, a in TRACKS.items() if a == artist(1, 0)]
    assert all(row[t] == WEIGHTS["follow"] for t in followed)
    assert listener_seen(s) == {track(0, 0), track(0, 2)}  # the followed artist's tracks stay recommendable


def test_fit_is_deterministic() -> None:
    a, b = fit(community()), fit(community(), params=Params(threads=2))
    assert a.items == b.items and np.allclose(a.item_factors, b.item_factors)


def test_a_listener_gets_their_taste_group_with_reasons() -> None:
    played = {track(1, i): 200.0 for i in range(4)}
    s = community(plays=played)
    model = fit(s)
    answer = recommend(model, ME, limit=5, row=listener_row(s), seen=listener_seen(s))
    assert not answer.cold_start and len(answer.tracks) == 5
    assert {r.track for r in answer.tracks} <= {track(1, i) for i in range(4, PER_GROUP)}  # unplayed, same group
    scores = [r.score for r in answer.tracks]
    assert scores == sorted(scores, reverse=True)
    likers: dict[str, set[str]] = {}
    for author, liked in s.likes:
        likers.setdefault(liked, set()).add(author)
    for r in answer.tracks:
        assert r.why.kind == "listeners" and r.why.about in played and r.artist == TRACKS[r.track]
        both = len(likers[r.track] & likers[r.why.about])  # the count said is the true one
        assert both > 0 and r.why.count == both
        assert r.why.text(lambda t: f"<{t}>") == f"liked by {both} people who like <{r.why.about}>"


def test_new_plays_count_at_once_without_a_refit() -> None:
    model = fit(community())  # the listener had nothing at fit time
    s = community(plays={track(2, 0): 300.0, track(2, 1): 300.0})
    answer = recommend(model, ME, limit=4, row=listener_row(s), seen=listener_seen(s))
    assert not answer.cold_start and all(r.track.startswith("osp:track:g2") for r in answer.tracks)


def test_excluded_hidden_kept_and_own_tracks_never_recommended() -> None:
    s = community(plays={track(0, i): 200.0 for i in range(3)})
    model = fit(s)
    row, seen = listener_row(s), listener_seen(s)
    hidden_track, hidden_artist = track(0, 5), artist(0, 4)
    answer = recommend(model, ME, limit=20, row=row, seen=seen, hidden={hidden_track, hidden_artist},
                       keep=lambda t, _a: t != track(0, 3))
    got = {r.track for r in answer.tracks}
    assert got and not got & seen and hidden_track not in got and track(0, 3) not in got
    assert all(r.artist != hidden_artist for r in answer.tracks)
    # the listener's own tracks (as an artist) are not recommended to them
    own = recommend(model, artist(0, 0), limit=20, row=row, seen=seen)
    assert all(r.artist != artist(0, 0) for r in own.tracks)


def test_followed_artists_tracks_say_so() -> None:
    s = community(follows=[(ME, artist(2, 0))], plays={track(2, 1): 200.0})
    model = fit(s)
    answer = recommend(model, ME, limit=10, row=listener_row(s), seen=listener_seen(s), followed={artist(2, 0)})
    by_followed = [r for r in answer.tracks if r.artist == artist(2, 0)]
    assert by_followed and all(r.why.kind == "follow" for r in by_followed)
    assert by_followed[0].why.text() == "by an artist you follow"


def test_cold_start_is_trust_weighted_popularity() -> None:
    honest = [(f"did:key:h{i}", track(0, 0)) for i in range(5)] + [(f"did:key:h{i}", track(1, 1)) for i in range(3)]
    sybils = [(f"did:key:s{i}", track(2, 2)) for i in range(50)]
    s = Signals(ME, likes=honest + sybils, tracks=TRACKS)
    model = fit(s)
    plain = recommend(model, ME, limit=3, row=listener_row(s))
    assert plain.cold_start and plain.tracks[0].track == track(2, 2) and plain.tracks[0].why.kind == "popular"
    trust = {f"did:key:h{i}": 0.01 for i in range(5)} | {ME: 0.5}  # Sybils: no trust at all
    trusted = recommend(model, ME, limit=3, row=listener_row(s), trust=trust)
    assert trusted.cold_start and [r.track for r in trusted.tracks] == [track(0, 0), track(1, 1)]
    assert trusted.tracks[0].why.text() == "popular with 5 people you trust"  # the Sybils are not counted
    assert plain.tracks[0].why.text() == "popular with 50 people on the network"


def test_artist_trust_weighs_items() -> None:
    likes = [(f"did:key:v{i}", track(0, 0)) for i in range(5)] + [(f"did:key:v{i}", track(0, 1)) for i in range(5)]
    model = fit(Signals(ME, likes=likes, tracks=TRACKS))
    voters = {f"did:key:v{i}": 0.01 for i in range(5)}
    first = popular(model, limit=2, trust=voters | {artist(0, 1): 0.02}, listener=ME)
    assert [r.track for r in first] == [track(0, 1), track(0, 0)]  # same votes: the trusted artist first
    weights = TrustWeights(voters | {artist(0, 1): 0.02, ME: 1.0}, ME)
    assert weights(ME) == 1 and weights(artist(0, 1)) == 1 and weights("did:key:nobody") == 0
    assert weights("did:key:v0") == pytest.approx(math.sqrt(0.5))


def test_more_like_this_blends_listeners_and_sound() -> None:
    model = fit(community())
    seed = track(0, 0)
    by_people = more_like_this(model, seed, limit=5)
    assert by_people and all(r.track.startswith("osp:track:g0") and r.track != seed for r in by_people)
    assert all(r.why.kind == "listeners" and r.why.about == seed for r in by_people)
    # a vector that sounds exactly like the seed, for a track of another group
    ids = [seed, track(2, 7), track(1, 3)]
    vectors = np.asarray([[1, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    blended = more_like_this(model, seed, limit=5, audio=AudioVectors(ids, vectors))
    assert blended[0].track == track(2, 7) and blended[0].why.kind == "sounds"
    assert track(1, 3) not in {r.track for r in blended}  # orthogonal: no similarity
    # a track the model never saw, known only by its sound
    alone = more_like_this(model, "osp:track:unseen", audio=AudioVectors(["osp:track:unseen", track(1, 3)], vectors[1:]))
    assert alone == []  # neither part knows osp:track:unseen as an item of the model
    assert more_like_this(model, "osp:track:nothing") == []


def test_empty_model_answers_cold_start() -> None:
    model = fit(Signals(ME))
    answer = recommend(model, ME, row={})
    assert model.empty and answer.cold_start and answer.tracks == []
    assert more_like_this(model, track(0, 0)) == []


def test_sybil_likes_move_a_trusted_model_little() -> None:
    """A thousand untrusted identities liking one spam track along with group 1's tracks."""
    spam = "osp:track:spam"
    sybils = [(f"did:key:s{i}", t) for i in range(1000) for t in (spam, track(1, i % PER_GROUP))]
    s = community(likes=community().likes + sybils, plays={track(1, i): 200.0 for i in range(3)},
                  tracks=TRACKS | {spam: "did:key:spammer"})
    trust = {f"did:key:fan{g}-{f}": 0.001 for g in range(GROUPS) for f in range(FANS)}
    model = fit(s, trust=trust)
    answer = recommend(model, ME, limit=5, row=listener_row(s), seen=listener_seen(s), trust=trust)
    assert spam not in {r.track for r in answer.tracks}
    untrusted = recommend(fit(s), ME, limit=5, row=listener_row(s), seen=listener_seen(s))
    assert untrusted.tracks[0].track == spam  # without trust the Sybils win: the test can fail


def test_refit_rule() -> None:
    assert refit_due(0, 0, None)  # never fitted
    assert not refit_due(0, 10_000, 3600.0)  # nothing changed
    assert not refit_due(REFIT_CHANGES, 10_000, 10.0, min_interval=60)  # too soon
    assert refit_due(REFIT_CHANGES, 10_000, 61.0, min_interval=60)
    assert refit_due(1, 10, 61.0, min_interval=60)  # a small library: one row is a lot
    assert not refit_due(5, 10_000, 61.0, min_interval=60)


def test_stamp_changes() -> None:
    assert changes(None, (3, 3, 2, 9)) == 5
    assert changes((3, 3, 2, 9), (3, 3, 2, 9)) == 0
    assert changes((3, 3, 2, 9), (4, 4, 2, 9)) == 1  # a play added
    assert changes((3, 3, 2, 9), (3, 3, 2, 10)) == 1  # a playlist version replaced (rows equal, rowid up)
    assert changes((3, 3, 2, 9), (0, 3, 2, 9)) == 3  # history cleared


def test_untrusted_rows_count_a_little_until_the_web_of_trust_is_large_enough() -> None:
    s = community(likes=community().likes + [("did:key:stranger", track(0, 0))])
    few = {"did:key:fan0-0": 0.01}  # one trusted identity: everyone else still counts a little
    model = fit(s, trust=few)
    row = model.users["did:key:stranger"]
    assert model.matrix[row].data.tolist() == [pytest.approx(USER_TRUST_FLOOR * WEIGHTS["like"])]
    many = {f"did:key:fan{g}-{f}": 0.01 for g in range(GROUPS) for f in range(FANS)}
    model = fit(s, trust=many)
    assert model.matrix[model.users["did:key:stranger"]].nnz == 0  # left out
    assert model.matrix[model.users["did:key:fan0-0"]].data.max() == pytest.approx(WEIGHTS["like"])


def test_for_you_blends_in_what_sounds_like_the_listeners_tracks() -> None:
    s = community(plays={track(0, 0): 300.0})
    model = fit(s)
    ids = [track(0, 0), track(2, 7), track(1, 3)]
    vectors = np.asarray([[1, 0, 0], [0.96, 0.28, 0], [0, 1, 0]], dtype=np.float32)
    audio = AudioVectors(ids, vectors)
    answer = recommend(model, ME, limit=20, row=listener_row(s), seen=listener_seen(s), audio=audio)
    by_track = {r.track: r for r in answer.tracks}
    assert by_track[track(2, 7)].why == Reason("sounds", track(0, 0))  # nobody's likes link it: its sound does
    assert track(1, 3) not in by_track or by_track[track(1, 3)].why.kind != "sounds"
    assert all(r.why.kind == "listeners" for r in answer.tracks if r.track.startswith("osp:track:g0"))
    plain = recommend(model, ME, limit=20, row=listener_row(s), seen=listener_seen(s))
    assert track(2, 7) not in {r.track for r in plain.tracks[:11]}
    assert audio.columns(model) is audio.columns(model)  # the id → column map is built once per model


def test_cold_start_500_barely_trusted_sybils_lose_to_5_trusted_likers() -> None:
    from osp.social.trust import TrustGraph, compute

    graph = TrustGraph(ME)
    friends = [f"did:key:friend{i}" for i in range(6)]
    for f in friends:
        graph.follow(ME, f)
    graph.follow(friends[0], "did:key:sybil-gate")  # one compromised friend lets the crowd in
    sybils = [f"did:key:s{i}" for i in range(500)]
    for s in sybils:
        graph.endorse("did:key:sybil-gate", s)
    scores = compute(graph)
    trust = dict(zip(scores.ids, (float(v) for v in scores.effective), strict=True))
    assert all(trust[s] > 0 for s in sybils)  # each holds a little trust
    spam, good = track(2, 2), track(0, 0)
    likes = [(s, spam) for s in sybils] + [(f, good) for f in friends[1:]]
    model = fit(Signals(ME, likes=likes, tracks=TRACKS), trust=trust)
    answer = recommend(model, ME, limit=3, row={}, trust=trust)
    assert answer.cold_start and answer.tracks[0].track == good, answer.tracks
    assert answer.tracks[0].why.kind == "trusted"
    plain = recommend(model, ME, limit=3, row={})  # without trust the crowd wins: the test can fail
    assert plain.tracks[0].track == spam


def test_reasons_are_counted_from_the_signals_and_true_in_a_small_library() -> None:
    mine, a, b, c = track(0, 0), track(0, 1), track(0, 2), track(0, 3)
    friends = [f"did:key:friend{i}" for i in range(3)]
    likes = [(f, a) for f in friends] + [("did:key:x", b), ("did:key:x", mine), ("did:key:y", c)]
    playlists = [("did:key:curator", "pl-1", [mine, b]), ("did:key:curator2", "pl-2", [b, mine, c])]
    s = Signals(ME, likes=likes, playlists=playlists, plays={mine: 300.0}, tracks=TRACKS)
    trust = {f: 0.01 for f in friends}
    model = fit(s, trust=trust)
    answer = recommend(model, ME, limit=20, row=listener_row(s), seen=listener_seen(s), trust=trust)
    why = {r.track: r.why for r in answer.tracks}
    assert why[a] == Reason("liked", None, 3) and why[a].text() == "liked by 3 people you trust"
    assert why[b] == Reason("playlists", None, 2)
    assert why[b].text() == "in 2 playlists with tracks you played or liked"
    assert why[c] == Reason("playlists", None, 1) and why[c].text() == "in 1 playlist with tracks you played or liked"
    # no liker of it is trusted, no playlist holds it beside a track of the listener's, no one
    # likes it and one of the listener's: the model's closeness is all there is, and it says so
    for r in answer.tracks:
        if r.track not in (a, b, c):
            assert r.why.kind == "near" and r.why.text(lambda t: "X") == "close to X in what people like"
    like_this = {r.track: r.why for r in more_like_this(model, mine, limit=20)}
    assert like_this[b] == Reason("listeners", mine, 1) and like_this[b].text(lambda t: "X") == "liked by 1 person who likes X"
