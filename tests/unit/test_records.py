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


# --- issue 6: hostile records ---------------------------------------------------------

SMALL_ORDER_KEYS = ["0100000000000000000000000000000000000000000000000000000000000000",
                    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
                    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"]


def forged_small_order_record(key_hex: str) -> dict[str, Any]:
    """A record 'signed' by a small-order did:key with R = identity, S = 0 (issue 6 item 2)."""
    import base58

    did = "did:key:z" + base58.b58encode(b"\xed\x01" + bytes.fromhex(key_hex)).decode()
    record = build_track(fields(artist=did, title="Anything at all"))
    record["proof"] = {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": CREATED,
        "verificationMethod": f"{did}#{did[8:]}", "proofPurpose": "assertionMethod", "@context": record["@context"],
        "proofValue": "z" + base58.b58encode(bytes.fromhex(SMALL_ORDER_KEYS[0]) + bytes(32)).decode(),
    }
    return record


@pytest.mark.parametrize("key_hex", SMALL_ORDER_KEYS)
def test_small_order_did_key_record_is_rejected(key_hex: str) -> None:
    record = forged_small_order_record(key_hex)
    with pytest.raises(IntegrityError) as exc:
        verify_track(jcs(record))
    assert exc.value.check == "verification-method"


@pytest.mark.parametrize("raw", [
    b"[" * 32000 + b"]" * 32000,                      # 32K deep: RecursionError before
    b"[" * 60000,                                      # deep and unclosed
    b'{"a":' * 12000 + b"1" + b"}" * 12000,
    b'{"size": ' + b"9" * 5000 + b"}",                 # ValueError (int max str digits) before
    b"-" + b"1" * 4301,
    b'{"duration": 1e999}', b'{"duration": -1e400}',  # overflow to +-inf
    '{"title": "\ud800"}',                             # a lone surrogate cannot be UTF-8
])
def test_strict_parser_turns_every_hostile_input_into_a_json_check(raw: bytes | str) -> None:
    with pytest.raises(IntegrityError) as exc:
        strict_loads(raw)
    assert exc.value.check == "json"


def test_depth_is_counted_outside_strings_only() -> None:
    assert strict_loads(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": "\\\\", "c": [[1]]}')["c"] == [[1]]
    assert strict_loads(b'{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\""}')["a"].startswith('"[')


def test_deep_parsed_object_and_huge_int_fail_as_integrity_errors() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    record = signed()
    record["provenance"]["parameters"] = {"x": deep}
    with pytest.raises(IntegrityError) as exc:
        verify_track(record)
    assert exc.value.check == "json"
    with pytest.raises(IntegrityError) as exc:
        jcs(deep)
    assert exc.value.check == "jcs"
    with pytest.raises(IntegrityError):
        jcs({"seed": 10**5000})


@pytest.mark.parametrize("released", ["2024-13-45", "2024-02-30", "2023-02-29", "0000-01-01", "2024-1-05"])
def test_impossible_release_date_is_refused_when_building(released: str) -> None:
    from osp.core.errors import CallerError

    with pytest.raises(CallerError, match="released") as exc:
        build_track(fields(released=released))
    assert "calendar date" in exc.value.message


@pytest.mark.parametrize("path,value", [
    (("released",), "2024-13-45"), (("released",), "2023-02-29"),
    (("proof", "created"), "2026-13-45T12:00:00Z"), (("proof", "created"), "2026-11-21T25:00:00Z"),
    (("proof", "created"), "2026-12-31T23:59:60Z"), (("proof", "created"), "2026-02-30T12:00:00Z"),
    (("proof", "created"), "0000-01-01T00:00:00Z"),
])
def test_impossible_dates_from_a_peer_fail_the_schema(path: tuple[str, ...], value: str) -> None:
    # a peer signs whatever it likes: build by hand, with a valid id and signature
    body = {k: v for k, v in build_track(fields()).items() if k != "id"}
    if path == ("released",):
        body["released"] = value
        record = di_sign({**body, "id": derive_id(body)}, KEY, CREATED)
    else:
        record = di_sign({**body, "id": derive_id(body)}, KEY, value)
    with pytest.raises(IntegrityError) as exc:
        verify_track(jcs(record))
    assert exc.value.check == "schema"


def test_real_dates_still_verify() -> None:
    for released in ("2024-02-29", "1999-12-31", "0001-01-01"):
        assert verify_track(sign_track(build_track(fields(released=released)), KEY, "2016-12-31T23:59:59.999Z"))


def test_every_schema_format_has_a_checker() -> None:
    from osp.records.track import format_checker, track_schema

    declared: set[str] = set()
    stack: list[Any] = [track_schema()]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("format"), str):
                declared.add(node["format"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    assert declared == {"date", "date-time"} and declared <= set(format_checker().checkers)
