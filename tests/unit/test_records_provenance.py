"""The structured ``provenance`` of a Track Record (spec §5.1): every member builds, signs
and verifies; every broken rule is refused when building (``CallerError``) and when
verifying a signed record (``IntegrityError``, check ``schema``); the older string forms
stay valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from osp.core.errors import CallerError, IntegrityError
from osp.identity import SigningKey
from osp.records import build_track, derive_id, jcs, sign_track, verify_track
from osp.records.proof import sign as di_sign
from osp.records.provenance import (
    HUMAN_CONTRIBUTIONS,
    MAX_PARAMETERS_BYTES,
    MAX_SEED,
    PARENT_RELATIONS,
    SOURCE_TYPES,
    STEM_ROLES,
    provenance_problem,
)

KEY = SigningKey.from_seed(bytes(range(32)))
CREATED = "2026-11-21T12:00:00Z"
PARENT = "osp:track:bagaaieraxj3qg7qo6epjkdfttmhk6i2cedwzi6aq6disilcbuhilliagufwa"
OTHER_PARENT = "osp:track:bagaaierap2aoghm5gtnkb537q53ncslnjrfqnf35hqcfat4we3a25vvktbna"
STEM = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"


def fields(provenance: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Glacier Drift", "artist": KEY.did, "duration": 195.514, "format": "audio/ogg",
        "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
        "size": 2300248, "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87&xl=2300248",
        "released": "2026-11-21", "license": "CC0-1.0", "tags": [], "provenance": provenance,
    }


def signed_raw(provenance: dict[str, Any]) -> dict[str, Any]:
    """Signed by the artist without ``build_track``'s checks: what a hostile peer can send."""
    body = {"@context": ["https://w3id.org/osp/v0.1"], "type": "osp:Track", "version": "0.1",
            **fields(provenance)}
    return di_sign({**body, "id": derive_id(body)}, KEY, CREATED)


FULL: dict[str, Any] = {
    "aiGenerated": True, "digitalSourceType": "trainedAlgorithmicMedia",
    "generator": {"name": "Suno", "version": "v4.5", "url": "https://suno.com/"}, "model": "chirp",
    "modelVersion": "4.5", "prompt": "icy synths", "negativePrompt": "drums", "seed": MAX_SEED,
    "parameters": {"temperature": 0.9, "style": {"weirdness": 50}}, "humanContribution": ["lyrics", "arrangement"],
    "parents": [{"id": PARENT, "relation": "remix"}, {"id": OTHER_PARENT, "relation": "samples"}],
    "stems": [{"cid": STEM, "role": "vocals"}],
}


@pytest.mark.parametrize("member,value", [
    *[("digitalSourceType", t) for t in SOURCE_TYPES],
    ("generator", {"name": "Udio"}), ("generator", {"name": "Udio", "version": "1.5"}),
    ("generator", {"name": "x", "url": "http://localhost:8080/gen"}),
    *[("humanContribution", [t]) for t in HUMAN_CONTRIBUTIONS],
    ("humanContribution", [t for t in HUMAN_CONTRIBUTIONS if t != "none"]),
    *[("parents", [{"id": PARENT, "relation": r}]) for r in PARENT_RELATIONS],
    *[("stems", [{"cid": STEM, "role": r}]) for r in STEM_ROLES],
    ("seed", 0), ("seed", MAX_SEED), ("parameters", {}),
])
def test_every_member_and_term_builds_signs_and_verifies(member: str, value: Any) -> None:
    record = sign_track(build_track(fields({"aiGenerated": True, member: value})), KEY, CREATED)
    assert verify_track(json.dumps(record)).record["provenance"][member] == value


def test_the_full_structured_provenance_round_trips() -> None:
    record = sign_track(build_track(fields(FULL)), KEY, CREATED)
    assert verify_track(jcs(record)).record["provenance"] == FULL


@pytest.mark.parametrize("older", [
    {"generator": "example-generator"}, {"humanContribution": "composed the melody, wrote the lyrics"},
    {"parents": [PARENT]}, {"stems": [STEM]}, {"parents": [PARENT, {"id": OTHER_PARENT, "relation": "cover"}]},
    {"aiGenerated": False, "humanContribution": ""}, {"parents": [], "stems": []},
])
def test_older_string_forms_stay_valid(older: dict[str, Any]) -> None:
    assert verify_track(sign_track(build_track(fields(older)), KEY, CREATED)).record["provenance"] == older


def test_the_v0_1_vectors_with_the_older_forms_still_verify() -> None:
    vectors = json.loads((VECTORS / "records.json").read_text())["vectors"]
    older = [v for v in vectors if isinstance(v["signed"]["provenance"].get("humanContribution"), str)]
    structured = [v for v in vectors if isinstance(v["signed"]["provenance"].get("generator"), dict)]
    assert older and structured
    for vector in vectors:
        assert verify_track(vector["signed"]).id == vector["id"]


PARAMS_AT_CAP = {"p": "x" * (MAX_PARAMETERS_BYTES - len('{"p":""}'))}
BAD: list[tuple[dict[str, Any], str]] = [
    ({"digitalSourceType": "aiMusic"}, "not an IPTC digital source type"),
    ({"digitalSourceType": "TrainedAlgorithmicMedia"}, "not an IPTC digital source type"),
    ({"humanContribution": ["vibes"]}, "'vibes' is not one of composition, lyrics"),
    ({"humanContribution": ["none", "mixing"]}, "'none' cannot be combined"),
    ({"humanContribution": ["mixing", "mixing"]}, "listed twice"),
    ({"humanContribution": []}, "non-empty list"),
    ({"parents": [{"id": PARENT, "relation": "inspired-by"}]}, "relation 'inspired-by' is not one of remix"),
    ({"parents": [{"id": PARENT}]}, "has no relation"),
    ({"parents": [{"id": PARENT, "relation": "remix", "weight": 1}]}, "unknown member 'weight'"),
    ({"parents": [PARENT, {"id": PARENT, "relation": "cover"}]}, "listed twice"),
    ({"parents": [{"id": PARENT, "relation": "remix"}] * 65}, "at most 64"),
    ({"stems": [{"cid": STEM, "role": "kazoo"}]}, "role 'kazoo' is not one of vocals"),
    ({"parameters": {"p": PARAMS_AT_CAP["p"] + "x"}}, f"{MAX_PARAMETERS_BYTES + 1} bytes as JCS"),
    ({"parameters": {f"k{i}": i for i in range(65)}}, "65 members"),
    ({"seed": MAX_SEED + 1}, "seed: an integer from 0 to"),
    ({"seed": -1}, "seed: an integer from 0 to"),
    ({"seed": True}, "seed: an integer"),
    ({"temperature": 0.9}, "temperature: unknown member"),
    ({"generator": {"name": "x", "license": "MIT"}}, "unknown member 'license'"),
    ({"generator": {"version": "1"}}, "needs a name"),
    ({"aiGenerated": "yes"}, "true or false"),
]


@pytest.mark.parametrize("provenance,message", BAD, ids=[m for _, m in BAD])
def test_each_broken_rule_is_refused_when_building_with_a_clear_message(provenance: dict[str, Any],
                                                                          message: str) -> None:
    with pytest.raises(CallerError) as exc:
        build_track(fields(provenance))
    assert message in exc.value.message and exc.value.message.startswith("invalid track metadata: provenance")


@pytest.mark.parametrize("provenance,message", [b for b in BAD if b[0].get("seed") != MAX_SEED + 1],
                         ids=[m for p, m in BAD if p.get("seed") != MAX_SEED + 1])
def test_each_broken_rule_fails_the_schema_check_of_a_signed_record(provenance: dict[str, Any], message: str) -> None:
    with pytest.raises(IntegrityError) as exc:
        verify_track(signed_raw(provenance))
    assert exc.value.check == "schema" and "provenance" in exc.value.message


def test_parameters_cap_is_on_the_jcs_bytes_exactly() -> None:
    assert len(jcs(PARAMS_AT_CAP)) == MAX_PARAMETERS_BYTES
    verify_track(signed_raw({"parameters": PARAMS_AT_CAP}))
    # JCS escapes differently from json.dumps: the cap counts the canonical bytes, UTF-8 included
    wide = {"p": "é" * ((MAX_PARAMETERS_BYTES - 8) // 2 + 1)}
    assert len(json.dumps(wide)) > len(jcs(wide)) > MAX_PARAMETERS_BYTES
    assert provenance_problem({"parameters": wide}) is not None


def test_problems_of_any_shape_are_a_line_never_an_exception() -> None:
    for value in ([], "x", 3, {"parents": "x"}, {"stems": [None, 3, {"cid": None}]}, {"parameters": [1]},
                  {"humanContribution": [["lyrics"]]}, {"generator": {"name": 3}}, {1: 2}):
        problem = provenance_problem(value)
        assert problem is None or (problem.startswith("provenance") and len(problem) < 600)
    assert provenance_problem(None) is None and provenance_problem(FULL) is None


def test_the_spec_schema_and_code_list_the_same_vocabularies() -> None:
    import re

    from osp.records import track_schema

    spec = (VECTORS.parent / "osp-v0.1.md").read_text()
    rows = {m[1]: re.findall(r"`([A-Za-z]+)`", m[2]) for m in re.finditer(r"^\| `([a-zA-Z\[\].]+)` \| (`.*) \|$", spec, re.M)}
    assert set(rows["digitalSourceType"]) == set(SOURCE_TYPES)
    assert rows["humanContribution"] == list(HUMAN_CONTRIBUTIONS)
    assert rows["parents[].relation"] == list(PARENT_RELATIONS) and rows["stems[].role"] == list(STEM_ROLES)
    defs = track_schema()["$defs"]
    assert defs["digitalSourceType"]["enum"] == list(SOURCE_TYPES)
    assert defs["humanContribution"]["enum"] == list(HUMAN_CONTRIBUTIONS)
    prov = track_schema()["properties"]["provenance"]["properties"]
    assert prov["parents"]["items"]["anyOf"][1]["properties"]["relation"]["enum"] == list(PARENT_RELATIONS)
    assert prov["stems"]["items"]["anyOf"][1]["properties"]["role"]["enum"] == list(STEM_ROLES)
