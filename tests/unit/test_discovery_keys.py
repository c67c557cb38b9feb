"""Rendezvous keys (spec §9.1): normalization, title words, derivation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osp.core.errors import CallerError
from osp.discovery.keys import (
    MAX_RECORD_KEYS,
    MAX_TITLE_WORDS,
    STOP_WORDS,
    normalize,
    record_keys,
    rendezvous_key,
    title_words,
)

DID = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


@pytest.mark.parametrize(("text", "want"), [
    ("Ａｍｂｉｅｎｔ", "ambient"),  # fullwidth (NFKC)
    ("ambient", "ambient"),
    ("AMBIENT", "ambient"),
    ("Straße", "strasse"),  # full case folding
    ("  Lo \t Fi\n ", "lo fi"),  # trimmed, inner white space collapsed
    ("ﬁre", "fire"),  # ligature (NFKC)
    ("Ⅳ", "iv"),  # roman numeral (NFKC, then casefold)
    ("café", "café"), ("cafe\u0301", "café"),  # composed either way
    ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
    ("", ""), ("   ", ""),
])
def test_normalize(text: str, want: str) -> None:
    assert normalize(text) == want


@given(st.text(max_size=60))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once and once == once.strip()


def test_title_words_drop_stop_words_short_words_and_repeats() -> None:
    assert title_words("The Glacier, glacier DRIFT (feat. X)") == ["glacier", "drift"]
    assert title_words("Ａｍｂｉｅｎｔ Straße_Nights—2049") == ["ambient", "strasse", "nights", "2049"]
    assert title_words("a of the to") == []
    assert title_words("Nuit d'été à Paris") == ["nuit", "été", "paris"]
    assert title_words("東京 夜") == ["東京"]  # one-character words dropped in every script
    assert len(title_words(" ".join(f"w{i}" for i in range(40)))) == MAX_TITLE_WORDS
    assert {"the", "and", "feat", "of"} <= STOP_WORDS


def test_rendezvous_key_derivation() -> None:
    for kind, value, norm in [("track", "osp:track:bagaaieraxyz", "osp:track:bagaaieraxyz"), ("artist", DID, DID),
                              ("tag", " Ａｍｂｉｅｎｔ ", "ambient"), ("word", "Straße", "strasse")]:
        key = rendezvous_key(kind, value)
        assert key.value == norm and key.kind == kind and len(key.digest) == 20
        assert key.digest == hashlib.sha1(b"osp/v0/" + kind.encode() + b":" + norm.encode()).digest()
        assert key.hex == key.digest.hex() and key.label == f"{kind}:{norm}"
    assert rendezvous_key("tag", "ambient").digest != rendezvous_key("word", "ambient").digest
    # track ids and DIDs are case-sensitive and never normalized
    assert rendezvous_key("artist", DID).digest != rendezvous_key("artist", DID.lower()).digest


@pytest.mark.parametrize(("kind", "value"), [
    ("genre", "ambient"), ("tag", ""), ("word", "  "), ("track", ""), ("artist", " did:key:x"), ("tag", "x" * 300),
])
def test_rendezvous_key_rejects(kind: str, value: str) -> None:
    with pytest.raises(CallerError):
        rendezvous_key(kind, value)


def test_record_keys_order_dedup_and_cap() -> None:
    record = {"id": "osp:track:b" + "a" * 58, "artist": DID, "title": "Ambient Glacier Drift ambient",
              "tags": ["Ambient", "ambient ", "AI", ""]}
    labels = [k.label for k in record_keys(record)]
    assert labels == [f"track:{record['id']}", f"artist:{DID}", "tag:ambient", "tag:ai",
                      "word:ambient", "word:glacier", "word:drift"]
    many = {**record, "tags": [f"t{i}" for i in range(32)]}
    keys = record_keys(many)
    assert len(keys) == MAX_RECORD_KEYS and len({k.digest for k in keys}) == MAX_RECORD_KEYS
    with pytest.raises(CallerError):
        record_keys({"artist": DID, "title": "x"})
