"""The fingerprint engine's pure parts (encoding, index entries, voting, alignment, search),
its fpcalc adapter's errors, the library repository and the peer route's parameter parsing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from osp.apps.http.matching import parse_match_params
from osp.core.errors import CallerError
from osp.library import Library
from osp.library import fingerprints as repo
from osp.node.fingerprints import MATCH_VALUES, index_keys
from osp.provenance import fingerprint as fp
from tests.conftest import need

RNG = np.random.default_rng(7)


def noisy(values: fp.Values, ber: float, rng: np.random.Generator = RNG) -> fp.Values:
    """``values`` with each bit flipped with probability ``ber``."""
    flips = np.packbits(rng.random((len(values), 32)) < ber, axis=1, bitorder="little").view("<u4").ravel()
    return (values ^ flips).astype(np.uint32)


def random_print(n: int) -> fp.Values:
    return RNG.integers(0, 2**32, n, dtype=np.uint32)


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=200))
def test_the_parameter_round_trips(values: list[int]) -> None:
    text = fp.encode_param(values)
    assert "=" not in text and "+" not in text and "/" not in text
    assert fp.decode_param(text, max_values=200).tolist() == values
    assert fp.from_bytes(fp.to_bytes(values)).tolist() == values


@pytest.mark.parametrize(("text", "why"), [
    ("", "whole number"), ("AAAAAAA", "whole number"), ("!!!!", "base64url"), ("A" * 5000, "longer than 100"),
])
def test_bad_parameters_are_caller_errors(text: str, why: str) -> None:
    with pytest.raises(CallerError, match=why):
        fp.decode_param(text, max_values=100)


def test_route_parameters() -> None:
    good = fp.encode_param(random_print(MATCH_VALUES))
    assert len(parse_match_params([("fp", good)])) == MATCH_VALUES
    for items in ([], [("fp", good), ("fp", good)], [("fp", good), ("x", "1")], [("q", "a")],
                  [("fp", fp.encode_param(random_print(MATCH_VALUES + 1)))]):
        with pytest.raises(CallerError):
            parse_match_params(items)


def test_index_entries_are_chosen_by_value_so_a_shifted_copy_selects_the_same() -> None:
    values = random_print(2000)
    entries = fp.index_entries(values)
    assert 2000 / fp.SELECT_EVERY / 2 < len(entries) < 2000 / fp.SELECT_EVERY * 2
    shifted = fp.index_entries(values[37:])
    assert {(k, p + 37) for k, p in shifted} == {(k, p) for k, p in entries if p >= 37}
    held = np.full(500, values[entries[0][1]], dtype=np.uint32)  # one selected value, held: indexed once
    assert fp.index_entries(held) == [(entries[0][0], 0)]
    assert not fp.informative(held) and fp.informative(values)


def test_votes_add_up_over_neighbouring_offsets() -> None:
    query = [(1, 0), (2, 10), (3, 20)]
    postings = [(1, 7, 100), (2, 7, 111), (3, 7, 119), (1, 8, 5), (2, 9, 50)]  # ref 7: offsets 100, 101, 99
    [best] = fp.vote(query, postings)
    assert best.ref == 7 and best.offset == 100 and best.votes == 3  # 8 and 9 have a single vote each


def test_ber_and_alignment() -> None:
    known = random_print(1000)
    query = noisy(known[200:600], 0.1)
    a = fp.align(query, known, 202)
    assert a.offset == 200 and a.overlap == 400 and 0.08 < a.ber < 0.12
    assert fp.ber_at(query, known, 5000).overlap == 0
    assert 0.45 < fp.ber_at(random_print(400), known, 0).ber < 0.55


def test_search_finds_a_noisy_excerpt_at_its_offset_among_random_prints() -> None:
    index: dict[int, list[tuple[int, int]]] = {}
    prints = {ref: random_print(1500) for ref in range(200)}
    for ref, values in prints.items():
        for k, p in fp.index_entries(values):
            index.setdefault(k, []).append((ref, p))

    def postings(keys: list[int]) -> list[tuple[int, int, int]]:
        return [(k, r, p) for k in keys for r, p in index.get(k, [])]

    # random bits: a key survives 0.98^20 ≈ 2/3 of the time at a 2 % bit error rate
    query = noisy(prints[42][300:300 + 800], 0.02)
    [m] = fp.search(query, fp.postings_voter(postings), prints.get)
    assert m.ref == 42 and m.offset == round(300 * fp.ITEM_SECONDS, 2) and m.overlap == round(800 * fp.ITEM_SECONDS, 2)
    assert 0.9 < m.score < 1 and m.votes >= fp.MIN_VOTES
    assert fp.search(query, fp.postings_voter(postings), prints.get, exclude=42) == []
    assert fp.search(random_print(800), fp.postings_voter(postings), prints.get) == []
    assert fp.search(prints[42][:fp.min_overlap_items() - 1], fp.postings_voter(postings), prints.get) == []  # under 10 s
    assert fp.search(prints[42], fp.postings_voter(postings), lambda ref: None) == []  # the known print is gone


def test_fpcalc_errors(tmp_path: Path) -> None:
    need(shutil.which("fpcalc") is not None, "fpcalc (libchromaprint-tools)")
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n" * 100)
    with pytest.raises(fp.FingerprintError, match="cannot fingerprint notes.mp3"):
        fp.compute(text)
    with pytest.raises(CallerError, match="fpcalc is not installed"):
        fp.compute(text, fpcalc="/nonexistent/fpcalc")


def test_the_repository_stores_looks_up_and_forgets(tmp_path: Path) -> None:
    with Library(tmp_path / "lib.sqlite3") as lib:
        values = random_print(1200)
        entries = fp.index_entries(values)
        n = repo.store(lib, "osp:track:a", fp.to_bytes(values), 148.6, entries, 1.0, index_keys)
        keys = [k for k, _ in entries]
        assert sorted(repo.postings(lib, keys, 100)) == sorted((k, n, p) for k, p in entries)
        assert repo.fingerprint_blob(lib, n) == ("osp:track:a", fp.to_bytes(values))
        # storing again replaces (index rows included); a failure replaces too
        n2 = repo.store(lib, "osp:track:a", fp.to_bytes(values[:600]), 74.3, fp.index_entries(values[:600]), 2.0,
                        index_keys)
        assert {r[1] for r in repo.postings(lib, keys, 100)} == {n2}
        assert len(repo.postings(lib, keys, 100)) == len(fp.index_entries(values[:600]))
        repo.store_duplicates(lib, [repo.DuplicateRow("osp:track:a", "osp:track:b", 1.5, 60.0, 0.9, False),
                                    repo.DuplicateRow("osp:track:a", "osp:track:c", 0.0, 30.0, 0.8, True)])
        assert repo.flagged(lib, ["osp:track:a", "osp:track:z"]) == {"osp:track:a": "osp:track:b"}
        assert [d.match_id for d in repo.duplicates_of(lib, "osp:track:a")] == ["osp:track:b", "osp:track:c"]
        repo.forget(lib, "osp:track:a", index_keys)
        assert repo.postings(lib, keys, 100) == [] and repo.fingerprint(lib, "osp:track:a") is None
        assert repo.duplicates_of(lib, "osp:track:a") == []
        repo.store_failure(lib, "osp:track:x", "broken", 3.0, index_keys)
        row = repo.fingerprint(lib, "osp:track:x")
        assert row is not None and row.fp is None and row.error == "broken" and repo.count(lib) == (0, 1)


def test_the_vectorized_vote_agrees_with_the_plain_one() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        entries = [(int(k), int(p)) for k, p in zip(rng.integers(0, 40, 60), rng.integers(0, 500, 60), strict=True)]
        postings = [(int(k), int(r), int(p)) for k, r, p in zip(rng.integers(0, 40, 400), rng.integers(1, 6, 400),
                                                                 rng.integers(0, 500, 400), strict=True)]
        plain = fp.vote(entries, postings)
        hits = [(i, r, pp - q) for i, (k, q) in enumerate(entries) for kk, r, pp in postings if kk == k]
        arr = np.array(hits, dtype=np.int64).reshape(-1, 3)
        assert fp.vote_arrays(arr[:, 1], arr[:, 2]) == plain
