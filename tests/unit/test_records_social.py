"""Social records (spec §10): build, sign, verify; every field's checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from osp.core.errors import CallerError, IntegrityError
from osp.identity import SigningKey
from osp.records import FLAG_REASONS, KINDS, build_social, is_social_id, jcs, sign_social, verify_social
from osp.records.proof import sign as di_sign
from osp.records.social import MAX_PLAYLIST_TRACKS, MAX_SEQ, MAX_SOCIAL_BYTES, TYPES, social_kind, social_schema

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(1, 33)))
CREATED = "2026-12-01T12:00:00Z"
TRACK = "osp:track:bagaaieravryjfmhg2alp7owjqfkutwcfsfhaznplrtoyl6sa6sj3lji6gb7q"
TRACK2 = "osp:track:bagaaieratdcgbpqzbaq4rvxoovigsejxx5bxebdgntyoc4fip4gmwgrk2rzq"


def social(kind: str, key: SigningKey = KEY, created: str = CREATED, **fields: Any) -> dict[str, Any]:
    return sign_social(build_social(kind, key.did, fields), key, created)


def comment(**over: Any) -> dict[str, Any]:
    return social("comment", **{"subject": TRACK, "text": "lovely bridge", **over})


SAMPLES: dict[str, dict[str, Any]] = {
    "playlist": {"playlist": "pl-AbCdEfGhIjKlMn_-", "seq": 1, "title": "Night drive",
                 "description": "slow", "tracks": [TRACK, TRACK2, TRACK]},
    "follow": {"subject": OTHER.did},
    "like": {"subject": TRACK},
    "comment": {"subject": TRACK, "text": "the drop at 1:30", "at": 90.5},
    "endorsement": {"subject": OTHER.did, "text": "a careful curator"},
    "flag": {"subject": TRACK, "reason": "duplicate", "duplicateOf": TRACK2, "text": "re-upload"},
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_kind_round_trips(kind: str) -> None:
    record = social(kind, **SAMPLES[kind])
    assert record["type"] == TYPES[kind] and record["id"].startswith(f"osp:{kind}:bagaaiera")
    assert record["created"] == record["proof"]["created"] == CREATED
    v = verify_social(json.dumps(record, indent=2).encode())
    assert (v.id, v.kind, v.author, v.created) == (record["id"], kind, KEY.did, CREATED)
    assert v.subject == SAMPLES[kind].get("subject")
    assert is_social_id(v.id) and social_kind(v.id) == kind
    assert v.to_json() == jcs(record)


def test_tombstone_of_each_kind_but_tombstone() -> None:
    for kind in SAMPLES:
        target = social(kind, **SAMPLES[kind])
        tomb = verify_social(social("tombstone", subject=target["id"]))
        assert tomb.kind == "tombstone" and tomb.subject == target["id"]
    tomb = social("tombstone", subject=comment()["id"])
    with pytest.raises(CallerError, match="subject"):
        build_social("tombstone", KEY.did, {"subject": tomb["id"]})
    forged = _resigned({**tomb, "subject": tomb["id"]})
    with pytest.raises(IntegrityError) as exc:
        verify_social(forged)
    assert exc.value.check == "schema"


def test_playlist_fields() -> None:
    v = verify_social(social("playlist", **SAMPLES["playlist"]))
    assert v.playlist == "pl-AbCdEfGhIjKlMn_-" and v.seq == 1 and v.subject is None
    assert v.record["tracks"] == [TRACK, TRACK2, TRACK]  # order and repeats kept
    empty = social("playlist", playlist="pl-AbCdEfGhIjKlMn_-", seq=2**53 - 1, title="t", tracks=[], description="")
    assert "description" not in empty  # an empty optional text is dropped
    for bad in ({"seq": 0}, {"seq": 2**53}, {"seq": 1.5}, {"seq": True}, {"title": ""}, {"title": "x" * 201},
                {"playlist": "pl-short"}, {"playlist": "xx-AbCdEfGhIjKlMn_-"}, {"tracks": [TRACK] * 501},
                {"tracks": ["osp:track:nope"]}, {"tracks": TRACK}, {"description": "d" * 2001}, {"subject": TRACK},
                {"extra": 1}):
        with pytest.raises(CallerError):
            build_social("playlist", KEY.did, {**SAMPLES["playlist"], **bad})
    with pytest.raises(CallerError, match="tracks"):  # the base32 looks right, the CID is not json-codec v1
        build_social("playlist", KEY.did, {**SAMPLES["playlist"], "tracks": ["osp:track:b" + "a" * 60]})
    assert len(build_social("playlist", KEY.did, {**SAMPLES["playlist"], "tracks": [TRACK] * 500})["tracks"]) == 500


@pytest.mark.parametrize(("kind", "bad"), [
    ("follow", {"subject": TRACK}),
    ("follow", {"subject": "did:key:z6Mk" + "a" * 44}),  # the right shape, not an Ed25519 key
    ("follow", {"subject": OTHER.did + "#frag"}),
    ("like", {"subject": OTHER.did}),
    ("like", {"subject": TRACK, "text": "no text on a like"}),
    ("comment", {"subject": TRACK, "text": ""}),
    ("comment", {"subject": TRACK, "text": "x" * 2001}),
    ("comment", {"subject": TRACK, "text": "t", "at": -1}),
    ("comment", {"subject": TRACK, "text": "t", "at": "10"}),
    ("comment", {"subject": TRACK, "text": "t", "replyTo": TRACK}),
    ("comment", {"subject": TRACK, "text": "t", "replyTo": "osp:like:b" + "a" * 60}),
    ("endorsement", {"subject": OTHER.did, "text": "x" * 501}),
    ("endorsement", {"subject": TRACK}),
    ("flag", {"subject": TRACK, "reason": "boring"}),
    ("flag", {"subject": TRACK}),
    ("flag", {"subject": TRACK, "reason": "spam", "duplicateOf": TRACK2}),
    ("flag", {"subject": TRACK, "reason": "spam", "text": "x" * 1001}),
    ("flag", {"subject": "osp:comment:b" + "a" * 60, "reason": "spam"}),
    ("tombstone", {"subject": TRACK}),
    ("tombstone", {"subject": OTHER.did}),
])
def test_bad_bodies_are_refused_before_signing(kind: str, bad: dict[str, Any]) -> None:
    with pytest.raises(CallerError):
        build_social(kind, KEY.did, bad)


def test_flag_reasons_and_subjects() -> None:
    assert FLAG_REASONS == ("spam", "impersonation", "not-ai", "malicious", "duplicate")
    for reason in FLAG_REASONS:
        assert verify_social(social("flag", subject=OTHER.did, reason=reason)).subject == OTHER.did


def test_build_refuses_envelope_members_and_unknown_kinds() -> None:
    with pytest.raises(CallerError, match="unknown"):
        build_social("repost", KEY.did, {"subject": TRACK})
    for member in ("id", "author", "created", "proof", "type"):
        with pytest.raises(CallerError, match=member):
            build_social("like", KEY.did, {"subject": TRACK, member: "x"})
    with pytest.raises(CallerError, match="author"):
        build_social("like", "did:web:example.com", {"subject": TRACK})


def test_sign_refuses_another_key_and_bad_created() -> None:
    unsigned = build_social("like", KEY.did, {"subject": TRACK})
    with pytest.raises(CallerError, match="author"):
        sign_social(unsigned, OTHER, CREATED)
    for created in ("2026-12-01", "2026-13-01T00:00:00Z", "2026-12-01T12:00:00+01:00", "2026-02-30T10:00:00Z",
                    "2026-12-31T23:59:60Z", "2026-12-01T10:00:00+14:00", "2026-12-01t10:00:00Z"):
        with pytest.raises(CallerError, match="^invalid like: created: .* is not an RFC 3339 UTC date-time"):
            sign_social(unsigned, KEY, created)


@pytest.mark.parametrize("created", ["2026-12-31T23:59:60Z", "2026-02-30T10:00:00Z", "0000-01-01T00:00:00Z"])
def test_a_leap_second_or_impossible_created_is_refused_naming_it(created: str) -> None:
    """Spec §10.1: ``created`` is a date-time every consumer parses (second 60 and impossible
    days refused), in the record and in its proof; a peer signs whatever it likes."""
    from osp.records.envelope import content_id

    body = {k: v for k, v in social("like", subject=TRACK).items() if k not in ("id", "proof")}
    for in_record in (True, False):
        record = {**body, "created": created if in_record else CREATED}
        signed = di_sign({**record, "id": content_id("osp:like:", record)}, KEY, CREATED if in_record else created)
        with pytest.raises(IntegrityError, match="created: .* is not an RFC 3339 UTC date-time") as exc:
            verify_social(jcs(signed))
        assert exc.value.check == "schema"


def _resigned(record: dict[str, Any], key: SigningKey = KEY) -> dict[str, Any]:
    """``record`` with its id recomputed and signed again: only the schema can refuse it."""
    from osp.records.envelope import content_id

    body = {k: v for k, v in record.items() if k != "proof"}
    body["id"] = content_id(f"osp:{record['id'].split(':')[1]}:", body)
    return di_sign(body, key, CREATED)


def test_verify_names_the_failed_check() -> None:
    good = comment()
    cases: list[tuple[Any, str]] = [
        (b"[1]", "json"),
        (b'{"a":1,"a":2}', "json"),
        (b" " * (MAX_SOCIAL_BYTES + 1), "json"),
        ({**good, "type": "osp:Track"}, "schema"),
        ({**good, "type": "osp:Repost"}, "schema"),
        ({**good, "version": "0.2"}, "schema"),
        ({**good, "created": "yesterday"}, "schema"),
        ({k: v for k, v in good.items() if k != "proof"}, "schema"),
        ({**good, "text": "changed"}, "id"),  # tampered body
        (_resigned({**good, "author": OTHER.did}), "verification-method"),  # wrong author
        (_resigned({**good, "text": "x" * 2001}), "schema"),  # too long, even when signed
        (_resigned({**good, "extra": True}), "schema"),
        ({**good, "proof": {**good["proof"], "proofValue": "z" + "1" * 86}}, "proof"),
        ({**good, "proof": {**good["proof"], "proofPurpose": "authentication"}}, "schema"),
    ]
    for data, check in cases:
        with pytest.raises(IntegrityError) as exc:
            verify_social(data)
        assert exc.value.check == check, (data if isinstance(data, bytes) else data.get("type"), exc.value.message)
    forged = {**_resigned({**good, "author": OTHER.did}, OTHER), "author": KEY.did}  # signed by OTHER, claims KEY
    with pytest.raises(IntegrityError) as exc:
        verify_social(forged)
    assert exc.value.check in ("id", "verification-method")


def test_nan_is_refused_in_build_and_verify() -> None:
    with pytest.raises(CallerError):
        build_social("comment", KEY.did, {"subject": TRACK, "text": "t", "at": float("nan")})
    with pytest.raises(IntegrityError) as exc:
        verify_social({**comment(), "at": float("nan")})
    assert exc.value.check == "schema"


def test_size_cap_on_jcs() -> None:
    """A parsed object (no byte cap on the way in) over 64 KiB of JCS is refused."""
    good = social("playlist", **{**SAMPLES["playlist"], "tracks": [TRACK] * 500, "description": "é" * 2000})
    assert len(jcs(good)) < MAX_SOCIAL_BYTES
    with pytest.raises(IntegrityError) as exc:
        verify_social({**good, "proof": {**good["proof"], "@context": ["x" * MAX_SOCIAL_BYTES]}})
    assert exc.value.check == "schema" and "bytes" in exc.value.message


def test_is_social_id() -> None:
    record = comment()
    assert is_social_id(record["id"]) and social_kind(record["id"]) == "comment"
    for value in (TRACK, record["id"].replace("comment", "repost"), record["id"] + "a", "osp:comment:b" + "a" * 60,
                  None, 5, ""):
        assert not is_social_id(value)


def test_schema_file_agrees_with_the_kinds() -> None:
    """The published schema (oneOf by type) accepts every valid record and names every kind."""
    import jsonschema

    from osp.records.envelope import format_checker

    schema = social_schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=format_checker())
    for kind in SAMPLES:
        assert validator.is_valid(social(kind, **SAMPLES[kind]))
    assert validator.is_valid(social("tombstone", subject=comment()["id"]))
    assert not validator.is_valid({**comment(), "reason": "spam"})
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in schema["oneOf"]} == {t[4:] for t in TYPES.values()}
    assert tuple(TYPES) == KINDS
    assert schema["$defs"]["Flag"]["properties"]["reason"]["enum"] == list(FLAG_REASONS)
    from osp.records.social import _ID

    # our validator checks playlist tracks with _ID, the schema file with trackId: the same rule
    assert schema["$defs"]["trackId"]["pattern"] == "^" + _ID.pattern.replace("([a-z]+)", "track") + "$"
    assert schema["$defs"]["Playlist"]["properties"]["tracks"]["items"] == {"$ref": "#/$defs/trackId"}
    playlist = schema["$defs"]["Playlist"]["properties"]
    assert (playlist["tracks"]["maxItems"], playlist["seq"]["maximum"]) == (MAX_PLAYLIST_TRACKS, MAX_SEQ)
