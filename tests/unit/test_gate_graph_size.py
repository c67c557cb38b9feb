"""Gate rule 3 (a trusted flagger hides what it flags) is judged on relative trust, so one
flag does the same whether the listener follows 5 identities or 502 (finding 3; the
reviewer's /tmp/review-hostile/gate.py)."""

from __future__ import annotations

import pytest

from osp.identity.keys import SigningKey
from osp.social.gate import GateSettings, judge
from osp.social.trust import FlagMark, TrustGraph, compute


def did(i: int) -> str:
    return SigningKey.from_seed(i.to_bytes(32, "big")).did


LISTENER, H, G, X = did(1), did(2), did(3), did(4)
SYBILS = [did(100 + i) for i in range(20)]


def graph(follows: int, *, sybils_flag: bool) -> TrustGraph:
    """The listener follows H, G and ``follows - 2`` others; G follows X; H follows 20
    identities; H flags X spam (or, ``sybils_flag``, 4 of those 20 do)."""
    g = TrustGraph(LISTENER)
    g.follow(LISTENER, H)
    g.follow(LISTENER, G)
    g.follow(G, X)
    for i in range(follows - 2):
        g.follow(LISTENER, did(1000 + i))
    for s in SYBILS:
        g.follow(H, s)
    for flagger in SYBILS[:4] if sybils_flag else [H]:
        g.flag(FlagMark(flagger, X, X, "spam"))
    return g


@pytest.mark.parametrize("follows", [5, 52, 502])
def test_one_trusted_flag_hides_the_same_at_every_graph_size(follows: int) -> None:
    scores = compute(graph(follows, sybils_flag=False))
    assert scores.trusted_flagger(H)  # followed by the listener: about typical trust
    hidden = judge(scores, GateSettings(), author=X)
    assert hidden is not None and hidden.by == H and hidden.why.startswith("flagged spam by ")
    assert scores.score(X) == 0.0  # and its trust is removed, as by the listener's own flag


@pytest.mark.parametrize("follows", [5, 52, 502])
def test_barely_trusted_flaggers_never_hide_and_lower_the_same_at_every_size(follows: int) -> None:
    scores = compute(graph(follows, sybils_flag=True))
    assert not any(scores.trusted_flagger(s) for s in SYBILS)
    assert judge(scores, GateSettings(), author=X) is None
    lowered = 1 - scores.score(X) / scores.base_score(X)
    assert 0.2 < lowered < 0.5  # 4 identities at 0.85/20 of H's (typical) trust, over τ 0.5: about 0.34
    small = compute(graph(5, sybils_flag=True))
    assert lowered == pytest.approx(1 - small.score(X) / small.base_score(X), rel=0.05)
