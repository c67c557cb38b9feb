"""osp.social.trust: personalized PageRank with restart at the listener, flags, why, Sybils."""

from __future__ import annotations

import numpy as np
import pytest

from osp.social.trust import FlagMark, TrustGraph, TrustParams, compute, sybil_bound

ALPHA = 0.15


def dense_ppr(n: int, edges: list[tuple[int, int, float]], alpha: float = ALPHA) -> np.ndarray:
    """The fixed point solved directly: t = α e_u + (1−α)(Pᵀ t + dangling mass · e_u)."""
    w = np.zeros((n, n))
    for s, t, weight in edges:
        w[s, t] += weight
    out = w.sum(axis=1)
    p = np.zeros((n, n))
    for s in range(n):
        if out[s] > 0:
            p[s] = w[s] / out[s]
        else:
            p[s, 0] = 1.0  # dangling: back to the listener
    e = np.zeros(n)
    e[0] = 1.0
    return np.linalg.solve(np.eye(n) - (1 - alpha) * p.T, alpha * e)


def test_matches_the_dense_solution_with_dangling_identities_and_weights() -> None:
    rng = np.random.default_rng(7)
    n = 60
    g = TrustGraph("d0")
    for i in range(n):
        g.node(f"d{i}")
    kinds: set[tuple[int, int, str]] = set()
    for _ in range(300):
        s, t = (int(x) for x in rng.integers(0, n, 2))
        if s == t or s >= 50:  # identities 50..59 follow nobody: dangling
            continue
        if rng.random() < 0.3:
            g.endorse(f"d{s}", f"d{t}")
            g.endorse(f"d{s}", f"d{t}")  # repeated: counts once
            kinds.add((s, t, "e"))
        else:
            g.follow(f"d{s}", f"d{t}")
            kinds.add((s, t, "f"))
    scores = compute(g)
    want = dense_ppr(n, [(s, t, 3.0 if kind == "e" else 1.0) for s, t, kind in kinds])
    got = np.array([scores.base_score(f"d{i}") for i in range(n)])
    assert scores.converged and scores.residual < 1e-9
    assert 1 < scores.iterations < 300
    assert abs(got.sum() - 1) < 1e-12
    # error bound: residual · (1−α)/α
    assert np.abs(got - want).sum() < 1e-9 * (1 - ALPHA) / ALPHA + 1e-12
    assert scores.base_score("d0") >= ALPHA


def test_iteration_cap_reports_not_converged() -> None:
    g = TrustGraph("u")
    g.follow("u", "a")
    g.follow("a", "b")
    g.follow("b", "a")
    scores = compute(g, TrustParams(max_iterations=3))
    assert scores.iterations == 3 and not scores.converged and scores.residual > 1e-9


def test_endorsements_weigh_more_than_follows_and_unknowns_score_zero() -> None:
    g = TrustGraph("u")
    g.follow("u", "f")
    g.endorse("u", "e")
    scores = compute(g)
    assert scores.score("e") == pytest.approx(3 * scores.score("f"))
    assert scores.score("nobody") == 0.0 and scores.rank("nobody") is None
    assert scores.rank("e") == 1 and scores.rank("f") == 2 and scores.rank("u") is None
    assert scores.top(5) == [("e", scores.score("e")), ("f", scores.score("f"))]
    assert scores.why("f") == ["followed by you"]
    assert scores.why("u") == ["this is you"]
    assert scores.why("nobody")[0].startswith("unknown here")


def test_lists_adopt_a_curators_endorsements() -> None:
    plain = TrustGraph("u")
    plain.follow("u", "a")
    plain.endorse("curator", "x")
    assert compute(plain).score("x") == 0.0
    listed = TrustGraph("u", lists=["curator"])
    listed.follow("u", "a")
    listed.endorse("curator", "x")
    scores = compute(listed)
    assert scores.score("x") > 0.1
    assert scores.why("x")[0] == "endorsed by your list curator"


def test_flags_lower_by_the_flaggers_trust_and_untrusted_flags_do_nothing() -> None:
    params = TrustParams(flag_scale=5.0)  # relative: a flagger 5 × typical removes a score alone

    def graph() -> TrustGraph:
        g = TrustGraph("u")
        for x in ("a", "b", "x"):
            g.follow("u", x)
        g.follow("sybil1", "sybil2")  # nobody trusted follows them
        return g

    clean = compute(graph(), params)
    g = graph()
    g.flag(FlagMark("sybil1", "x", "x", "spam"))
    g.flag(FlagMark("sybil2", "osp:track:bafyfake", "x", "spam"))
    assert compute(g, params).score("x") == clean.score("x")  # untrusted: nothing
    g.flag(FlagMark("a", "osp:track:bafyone", "x", "spam"))
    g.flag(FlagMark("a", "osp:track:bafytwo", "x", "spam"))  # the same flagger counts once
    flagged = compute(g, params)
    w_a = flagged.flag_weight("a")
    assert w_a == pytest.approx(flagged.base_score("a") / flagged.typical_base) and 0 < w_a < params.flag_scale
    assert flagged.score("x") == pytest.approx(clean.score("x") * (1 - w_a / params.flag_scale))
    assert flagged.base_score("x") == clean.score("x")
    why = flagged.why("x")
    assert any(line.startswith("flagged spam (a track of theirs) by a (trust") for line in why)
    assert "2 flags from outside your web of trust ignored" in why
    assert any(line.startswith("trust lowered") for line in why)
    g.flag(FlagMark("u", "x", "x", "impersonation"))  # the listener's own flag removes it
    assert compute(g, params).score("x") == 0.0
    g.flag(FlagMark("a", "u", "u", "spam"))  # the listener is never lowered
    assert compute(g, params).score("u") == flagged.score("u")


def test_why_names_the_most_trusted_first_and_counts_the_rest() -> None:
    g = TrustGraph("u")
    for i in range(6):
        g.follow("u", f"f{i}")
        g.endorse(f"f{i}", "x")
    g.endorse("stranger", "x")
    scores = compute(g)
    why = scores.why("x", names={"f0": "Ann"})
    assert why[0].startswith("endorsed by ") and why[0].endswith(" and 3 others")
    assert "Ann (f0) (trust" in why[0] or why[0].count("(trust") == 3
    assert "endorsed by 1 identity outside your web of trust" in why


def small_world(rng: np.random.Generator, n: int, k: int = 12, rewire: float = 0.1) -> list[tuple[int, str, int]]:
    """A directed Watts–Strogatz follow graph (each identity follows its k ring neighbours,
    each edge rewired at random with probability ``rewire``) plus endorsements of 3 follows each."""
    edges: list[tuple[int, str, int]] = []
    for i in range(n):
        follows = []
        for d in range(1, k // 2 + 1):
            for j in ((i + d) % n, (i - d) % n):
                if rng.random() < rewire:
                    j = int(rng.integers(0, n))
                if j != i:
                    follows.append(j)
        edges += [(i, "follow", j) for j in follows]
        edges += [(i, "endorsement", int(j)) for j in rng.choice(follows, size=3, replace=False)]
    return edges


def sybil_graph(compromised: str | None, *, back: bool = False) -> tuple[TrustGraph, list[str]]:
    rng = np.random.default_rng(20261203)
    honest, n_sybil = 2000, 1000
    g = TrustGraph("h0")
    g.edges((f"h{s}", kind, f"h{t}") for s, kind, t in small_world(rng, honest))
    sybils = [f"s{i}" for i in range(n_sybil)]
    for i in range(n_sybil):  # dense mutual endorsement, no honest endorsement
        for j in rng.choice(n_sybil, size=20, replace=False):
            g.endorse(sybils[i], sybils[int(j)])
        if back and compromised:
            g.endorse(sybils[i], compromised)  # and they pump the traitor back up
    if compromised:
        for s in sybils:
            g.endorse(compromised, s)
    return g, sybils


def test_sybils_hold_no_trust_and_one_compromised_identity_moves_a_bounded_amount() -> None:
    g, sybils = sybil_graph(None)
    clean = compute(g)
    assert clean.converged
    assert clean.mass(sybils) < 0.01  # the bound; with no edge in, exactly 0
    assert clean.mass(sybils) == 0.0
    ranked = [did for did, _t in clean.top(3000)]
    assert len(ranked) == 1999 and not set(ranked) & set(sybils)  # every honest identity reached, no Sybil

    # a typical honest identity (not one the listener follows) is compromised
    traitor = next(d for d, _t in clean.top(3000)[500:] if "followed by you" not in clean.why(d))
    g, sybils = sybil_graph(traitor)
    attacked = compute(g)
    moved = attacked.mass(sybils)
    bound = sybil_bound(attacked, [traitor], sybils)
    print(f"\nSybil mass: clean {clean.mass(sybils):.3g}; one compromised identity (trust "
          f"{clean.score(traitor):.3g} before, {attacked.base_score(traitor):.3g} after) moves {moved:.4g} "
          f"(bound (1-α)/α·t(c)·p(c,S) = {bound:.4g}; honest mass {1 - moved:.4f})")
    assert moved <= bound * (1 + 1e-6) + 1e-9  # the theory's bound holds ...
    assert moved >= 0.99 * bound  # ... and is tight when the Sybils link only to each other
    assert moved <= (1 - ALPHA) / ALPHA * attacked.base_score(traitor)
    assert moved < 0.01  # a typical identity's share of 2,000 moves well under 1 %


@pytest.mark.parametrize("back", [False, True])
def test_a_compromised_direct_follow_still_obeys_the_bound(back: bool) -> None:
    g, _ = sybil_graph(None)
    clean = compute(g)
    traitor = next(d for d, _t in clean.top(50) if "followed by you" in clean.why(d))
    g, sybils = sybil_graph(traitor, back=back)
    attacked = compute(g)
    moved = attacked.mass(sybils)
    bound = sybil_bound(attacked, [traitor], sybils)
    print(f"\ncompromised direct follow (back-links {back}): Sybil mass {moved:.4g}, bound {bound:.4g}, "
          f"traitor trust {clean.score(traitor):.3g} → {attacked.base_score(traitor):.3g}")
    assert moved <= bound * (1 + 1e-6) + 1e-9
    if not back:
        assert moved >= 0.99 * bound
    # Sybil flags against an honest artist stay within their mass / τ
    victim = next(d for d, _t in clean.top(50) if d != traitor)
    for s in sybils:
        g.flag(FlagMark(s, victim, victim, "spam"))
    flagged = compute(g)
    lowered = 1 - flagged.score(victim) / flagged.base_score(victim)
    assert lowered <= min(1.0, (moved + attacked.base_score(traitor))
                          / (flagged.typical_base * flagged.params.flag_scale)) + 1e-9
