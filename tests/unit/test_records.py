import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osp.content.cid import CID
from osp.core.errors import IntegrityError
from osp.identity import SigningKey
from osp.records import build_track, derive_id, jcs, sign_track, strict_loads, verify_track
from osp.records.proof import sign as di_sign

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(1, 33)))
CREATED = "2026-11-21T12:00:00Z"


def fields(key: SigningKey = KEY, **over: Any) -> dict[str, Any]:
    base = {
        "title": "Glacier Drift", "artist": key.did, "artistName": "Test Artist", "duration": 195.514,
        "format": "audio/ogg", "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu",
        "cidProfile": "unixfs-v1-2025", "size": 2300248,
        "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87&dn=x.ogg&xl=2300248",
        "released": "2026-11-21", "license": "CC0-1.0", "tags": ["ambient", "ai"],
        "provenance": {"aiGenerated": True, "generator": "tool", "model": "m", "prompt": "icy synths", "seed": 42,
                       "parameters": {"temperature": 0.9}, "parents": [], "stems": []},
    }
    return {**base, **over}


def signed(**over: Any) -> dict[str, Any]:
    return sign_track(build_track(fields(**over)), KEY, CREATED)


def test_sign_and_verify_round_trip() -> None:
    record = signed()
    track = verify_track(json.dumps(record).encode())
    assert track.id == record["id"] and track.id.startswith("osp:track:bagaaiera")
    assert track.infohash == "e2cd89086f5ab88ee0e14d391536a9811995ab87"
    assert record["proof"]["verificationMethod"] == f"{KEY.did}#{KEY.did[8:]}"


def test_id_is_json_cid_of_jcs_without_id_and_proof() -> None:
    record = signed()
    body = {k: v for k, v in record.items() if k not in ("id", "proof")}
    assert record["id"] == "osp:track:" + str(CID.of(jcs(body), codec=0x0200))
    assert derive_id(record) == record["id"]


@pytest.mark.parametrize("field,value", [("title", "Other"), ("duration", 10.0), ("cid", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"), ("tags", ["spam"])])
def test_tampered_field_fails_the_id_check(field: str, value: Any) -> None:
    record = signed()
    record[field] = value
    with pytest.raises(IntegrityError) as exc:
        verify_track(record)
    assert exc.value.check == "id"


def test_tampered_field_with_recomputed_id_fails_the_proof() -> None:
    record = signed()
    record["title"] = "Stolen"
    record["id"] = derive_id(record)
    with pytest.raises(IntegrityError) as exc:
        verify_track(record)
    assert exc.value.check == "proof"


def test_record_signed_by_someone_else_is_refused() -> None:
    unsigned = build_track(fields())
    forged = di_sign(unsigned, OTHER, CREATED)  # valid signature, wrong key
    with pytest.raises(IntegrityError) as exc:
        verify_track(forged)
    assert exc.value.check == "verification-method"


def test_proof_context_must_prefix_the_record() -> None:
    record = signed()
    record["proof"]["@context"] = ["https://example.com/other"]
    with pytest.raises(IntegrityError) as exc:
        verify_track(record)
    assert exc.value.check in ("proof-context", "schema")


@pytest.mark.parametrize("mutate,check", [
    (lambda r: r.pop("proof"), "schema"),
    (lambda r: r.__setitem__("artist", "did:web:example.com"), "schema"),
    (lambda r: r.__setitem__("duration", -1), "schema"),
    (lambda r: r.__setitem__("format", "text/html"), "schema"),
    (lambda r: r.__setitem__("extra", 1), "schema"),
    (lambda r: r["proof"].__setitem__("cryptosuite", "ecdsa-rdfc-2019"), "schema"),
    (lambda r: r["proof"].__setitem__("proofValue", "z" + "1" * 86), "proof"),
])
def test_malformed_records_name_the_failed_check(mutate: Any, check: str) -> None:
    record = copy.deepcopy(signed())
    mutate(record)
    with pytest.raises(IntegrityError) as exc:
        verify_track(record)
    assert exc.value.check == check


@pytest.mark.parametrize("raw", [
    b'{"a": 1, "a": 2}', b'{"a": NaN}', b'{"a": Infinity}', b"[" * 40 + b"]" * 40, b"{", b"\xff\xfe",
    b'{"x": "' + b"a" * 70000 + b'"}',
])
def test_strict_parser_rejects_hostile_json(raw: bytes) -> None:
    with pytest.raises(IntegrityError) as exc:
        strict_loads(raw)
    assert exc.value.check == "json"


def test_unsigned_build_drops_empty_optionals() -> None:
    record = build_track(fields(provenance=None, artistName=None))
    assert "provenance" not in record and "artistName" not in record and record["tags"] == ["ambient", "ai"]


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s), st.lists(st.text(min_size=1, max_size=10), max_size=5, unique=True))
def test_any_title_and_tags_round_trip(title: str, tags: list[str]) -> None:
    record = sign_track(build_track(fields(title=title, tags=tags)), KEY, CREATED)
    assert verify_track(jcs(record)).record == record
