"""Artist feeds (spec §9.5): the feed value, BEP 44 signing bytes, the expanded secret,
the catalog and the follower's guard."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osp.core.errors import CallerError, IntegrityError
from osp.discovery.feed import (
    FEED_SALT,
    MAX_CATALOG_BYTES,
    MAX_VALUE,
    FeedGuard,
    FeedValue,
    catalog_decode,
    catalog_encode,
    expanded_secret,
    signing_bytes,
    verify_item,
)
from osp.identity import SigningKey
from osp.records import build_track, jcs, sign_track

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(32, 64)))
CREATED = "2026-11-21T12:00:00Z"
INFOHASH = "e2cd89086f5ab88ee0e14d391536a9811995ab87"


# -- FeedValue -----------------------------------------------------------------------


@given(st.integers(0, 2**53 - 1), st.integers(0, 1_000_000), st.integers(0, 2**53 - 1),
       st.text("0123456789abcdef", min_size=40, max_size=40))
def test_feed_value_round_trip(seq: int, count: int, expires: int, catalog: str) -> None:
    value = FeedValue(catalog, seq, count, expires)
    data = value.encode()
    assert len(data) <= MAX_VALUE and FeedValue.decode(data) == value
    assert list(json.loads(data)) == ["catalog", "count", "expires", "seq"]  # JCS: sorted members


def test_feed_value_encoding_is_exact() -> None:
    assert FeedValue(INFOHASH, 7, 3, 1_800_000_000).encode() == (
        b'{"catalog":"%s","count":3,"expires":1800000000,"seq":7}' % INFOHASH.encode())


@pytest.mark.parametrize("data", [
    b"", b"null", b"[]", b"{", b'{"catalog":"%s","count":1,"expires":1}' % INFOHASH.encode(),
    b'{"catalog":"%s","count":1,"expires":1,"seq":"1"}' % INFOHASH.encode(),
    b'{"catalog":"%s","count":true,"expires":1,"seq":1}' % INFOHASH.encode(),
    b'{"catalog":"%s","count":1,"expires":1.5,"seq":1}' % INFOHASH.encode(),
    b'{"catalog":"%s","count":1,"expires":1,"seq":-1}' % INFOHASH.encode(),
    b'{"catalog":"%s","count":1,"expires":1,"seq":1}' % INFOHASH.upper().encode(),
    b'{"catalog":"abc","count":1,"expires":1,"seq":1}',
    b'{"catalog":"%s","count":1,"expires":1,"seq":1,"seq":2}' % INFOHASH.encode(),
    b'{"catalog":"%s","count":1,"expires":1,"seq":1,"pad":"%s"}' % (INFOHASH.encode(), b"x" * 1000),
    b"\xff\xfe",
])
def test_feed_value_rejects_junk(data: bytes) -> None:
    with pytest.raises(IntegrityError) as exc:
        FeedValue.decode(data)
    assert exc.value.check == "feed"


def test_feed_value_ignores_unknown_members_and_checks_fields() -> None:
    data = b'{"catalog":"%s","count":1,"expires":9,"later":{"x":1},"seq":2}' % INFOHASH.encode()
    assert FeedValue.decode(data) == FeedValue(INFOHASH, 2, 1, 9)
    for seq in (-1, 2**53, True):
        with pytest.raises(CallerError):
            FeedValue(INFOHASH, seq, 0, 0)


# -- BEP 44 --------------------------------------------------------------------------


def bencode(value: Any) -> bytes:
    """An independent, general bencoder (BEP 3) for the check."""
    if isinstance(value, int):
        return f"i{value}e".encode()
    if isinstance(value, bytes):
        return str(len(value)).encode() + b":" + value
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(value.items())) + b"e"
    raise TypeError(value)


@given(st.binary(max_size=64), st.integers(0, 2**63 - 1), st.binary(max_size=MAX_VALUE))
def test_signing_bytes_is_the_bencoded_dict_without_its_braces(salt: bytes, seq: int, value: bytes) -> None:
    # BEP 44: the signature covers the bencoded {salt, seq, v} without the outer d…e
    # (salt left out when empty), v being here a bencoded byte string.
    fields: dict[bytes, Any] = {b"seq": seq, b"v": value}
    if salt:
        fields[b"salt"] = salt
    assert signing_bytes(salt, seq, value) == bencode(fields)[1:-1]


def test_signing_bytes_bep44_example_shape() -> None:
    # the BEP 44 text's example (v = "Hello World!" as a byte string, salt "foobar", seq 1)
    assert signing_bytes(b"foobar", 1, b"Hello World!") == b"4:salt6:foobar3:seqi1e1:v12:Hello World!"
    assert signing_bytes(b"", 1, b"Hello World!") == b"3:seqi1e1:v12:Hello World!"
    for salt, seq, value in ((b"x" * 65, 1, b""), (b"", -1, b""), (b"", 2**63, b""), (b"", 1, b"x" * 997)):
        with pytest.raises(CallerError):
            signing_bytes(salt, seq, value)


def test_verify_item() -> None:
    value = FeedValue(INFOHASH, 3, 1, 2_000_000_000).encode()
    sig = KEY.sign(signing_bytes(FEED_SALT, 3, value))
    assert verify_item(KEY.public_key, FEED_SALT, 3, value, sig)
    assert not verify_item(KEY.public_key, FEED_SALT, 4, value, sig)  # another seq
    assert not verify_item(KEY.public_key, b"other", 3, value, sig)
    assert not verify_item(OTHER.public_key, FEED_SALT, 3, value, sig)
    assert not verify_item(KEY.public_key, FEED_SALT, 3, value + b" ", sig)
    assert not verify_item(KEY.public_key, FEED_SALT, 3, value, sig[:63])
    assert not verify_item(bytes([1]) + bytes(31), FEED_SALT, 3, value, bytes([1]) + bytes(63))  # small order


# -- the expanded secret (libtorrent's key format) ------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P


def _add(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    # RFC 8032 §5.1.4 addition in extended coordinates
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _mul(s: int, p: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, p)
        p, s = _add(p, p), s >> 1
    return q


def _encode(p: tuple[int, int, int, int]) -> bytes:
    zi = pow(p[2], P - 2, P)
    x, y = p[0] * zi % P, p[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_GY = 4 * pow(5, P - 2, P) % P
_GX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
BASE = (_GX, _GY, 1, _GX * _GY % P)


def sign_with_expanded(secret: bytes, message: bytes) -> tuple[bytes, bytes]:
    """(public key, signature) from a 64-byte expanded secret, as orlp/ed25519 signs."""
    a = int.from_bytes(secret[:32], "little")
    public = _encode(_mul(a, BASE))
    r = int.from_bytes(hashlib.sha512(secret[32:] + message).digest(), "little") % L
    big_r = _encode(_mul(r, BASE))
    k = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % L
    return public, big_r + ((r + k * a) % L).to_bytes(32, "little")


def test_expanded_secret_signs_like_the_seed() -> None:
    for key in (KEY, OTHER):
        secret = expanded_secret(key.seed)
        assert len(secret) == 64 and secret[0] & 7 == 0 and secret[31] & 0xC0 == 0x40  # clamped scalar
        message = signing_bytes(FEED_SALT, 1, FeedValue(INFOHASH, 1, 1, 2_000_000_000).encode())
        public, signature = sign_with_expanded(secret, message)
        assert public == key.public_key
        assert signature == key.sign(message)  # Ed25519 is deterministic: the same bytes
    with pytest.raises(CallerError):
        expanded_secret(b"short")


# -- the catalog ---------------------------------------------------------------------


def signed(key: SigningKey, title: str) -> dict[str, Any]:
    fields = {"title": title, "artist": key.did, "duration": 1.5, "format": "audio/ogg",
              "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
              "size": 10, "torrent": f"magnet:?xt=urn:btih:{INFOHASH}", "released": "2026-11-21",
              "license": "CC0-1.0", "tags": ["ambient"]}
    return sign_track(build_track(fields), key, CREATED)


def test_catalog_round_trip_sorted_and_deduplicated() -> None:
    records = [signed(KEY, f"Track {i}") for i in range(4)]
    raws = [json.dumps(r, indent=1).encode() for r in records]
    data = catalog_encode([*raws, raws[0]])
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 5
    assert lines[:-1] == [jcs(r) for r in sorted(records, key=lambda r: r["id"])]
    assert [t.id for t in catalog_decode(data, KEY.did)] == sorted(r["id"] for r in records)
    assert catalog_decode(b"", KEY.did) == []


def test_catalog_drops_forged_and_foreign_records() -> None:
    good, foreign = signed(KEY, "Mine"), signed(OTHER, "Not mine")
    forged = {**signed(KEY, "Forged"), "title": "Changed"}
    data = b"\n".join([jcs(forged), jcs(good), jcs(foreign), b"not json", jcs(good)]) + b"\n"
    assert [t.id for t in catalog_decode(data, KEY.did)] == [good["id"]]
    with pytest.raises(IntegrityError) as exc:
        catalog_decode(jcs(forged) + b"\n" + jcs(foreign), KEY.did)
    assert exc.value.check == "catalog"


def test_catalog_size_cap() -> None:
    with pytest.raises(IntegrityError):
        catalog_decode(b" " * (MAX_CATALOG_BYTES + 1), KEY.did)
    with pytest.raises(CallerError):
        catalog_encode([json.dumps({"no": "id"}).encode()])


# -- the follower's guard ------------------------------------------------------------


def test_feed_guard() -> None:
    guard = FeedGuard()
    value = FeedValue(INFOHASH, 5, 1, 1000)
    assert guard.accept(None, 5, value, now=0) is True
    assert guard.accept(4, 5, value, now=999.9) is True
    assert guard.accept(5, 5, value, now=0) == "replay"  # equal seq
    assert guard.accept(9, 5, value, now=0) == "replay"  # older seq (rolled back)
    assert guard.accept(None, 6, value, now=0) == "seq-mismatch"
    assert guard.accept(None, 5, value, now=1000) == "expired"
