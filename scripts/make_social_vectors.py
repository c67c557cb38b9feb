"""Regenerate spec/vectors/social-records.json deterministically (OSP v0.1 §10 social records).

    .venv/bin/python scripts/make_social_vectors.py [--check]

--check compares instead of writing and exits 1 on a difference (tests/unit/test_social_vectors.py
does this).  Keys from fixed seeds (the ``counting`` and ``artist-b`` seeds of make_vectors.py),
fixed timestamps.  ``valid``: one signed record of each kind (and a reply, and a playlist's
tombstone naming its series and seq, spec §10.2 rule 3); ``invalid``:
records a verifier must reject, each with the check that fails first (spec §6.3, §10).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from osp.core.errors import IntegrityError
from osp.identity import SigningKey
from osp.records import build_social, jcs, sign_social, verify_social
from osp.records.envelope import content_id
from osp.records.proof import sign as di_sign

PATH = Path(__file__).resolve().parents[1] / "spec" / "vectors" / "social-records.json"
SEEDS = {"counting": bytes(range(32)).hex(), "artist-b": bytes(range(32, 64)).hex()}
CREATED = "2026-12-01T12:00:00Z"
TRACK_A = "osp:track:bagaaieravryjfmhg2alp7owjqfkutwcfsfhaznplrtoyl6sa6sj3lji6gb7q"
TRACK_B = "osp:track:bagaaieratdcgbpqzbaq4rvxoovigsejxx5bxebdgntyoc4fip4gmwgrk2rzq"
KEY = SigningKey.from_seed(bytes.fromhex(SEEDS["counting"]))
OTHER = SigningKey.from_seed(bytes.fromhex(SEEDS["artist-b"]))


def signed(kind: str, key: SigningKey, created: str = CREATED, **fields: Any) -> dict[str, Any]:
    return sign_social(build_social(kind, key.did, fields), key, created)


def valid() -> list[tuple[str, dict[str, Any]]]:
    first = signed("comment", OTHER, subject=TRACK_A, text="Where is this sample from?")
    reply = signed("comment", KEY, "2026-12-01T12:05:00Z", subject=TRACK_A, text="My own field recording 🎧",
                   at=61.25, replyTo=first["id"])
    playlist = signed("playlist", KEY, playlist="pl-AbCdEfGhIjKlMn_-", seq=3, title="Night drive",
                      description="Slow, wide, late.", tracks=[TRACK_A, TRACK_B, TRACK_A])
    return [
        ("playlist", playlist),
        ("follow", signed("follow", KEY, subject=OTHER.did)),
        ("like", signed("like", KEY, subject=TRACK_B)),
        ("comment", first),
        ("comment", reply),
        ("endorsement", signed("endorsement", KEY, subject=OTHER.did, text="Careful curator, no spam.")),
        ("flag", signed("flag", KEY, subject=TRACK_B, reason="duplicate", duplicateOf=TRACK_A,
                        text="re-upload of an earlier track")),
        ("tombstone", signed("tombstone", KEY, "2026-12-01T13:00:00Z", subject=reply["id"])),
        ("tombstone", signed("tombstone", KEY, "2026-12-01T14:00:00Z", subject=playlist["id"],
                             playlist=playlist["playlist"], seq=playlist["seq"])),
    ]


def resigned(record: dict[str, Any], key: SigningKey = KEY, **changes: Any) -> dict[str, Any]:
    """``record`` changed, its id recomputed and signed again by ``key``: only the schema
    (or the author binding) can refuse it."""
    body = {k: v for k, v in record.items() if k not in ("id", "proof")}
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}  # a change to None drops the member
    kind = record["id"].split(":")[1]
    return di_sign({**body, "id": content_id(f"osp:{kind}:", body)}, key, CREATED)


def invalid() -> list[dict[str, Any]]:
    records = dict(valid()[:3] + valid()[5:8])  # one of each kind but comment (the tombstone of a reply)
    comment = valid()[4][1]
    playlist, tomb, flag = records["playlist"], records["tombstone"], records["flag"]

    def mutated(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
        out = copy.deepcopy(record)
        out.update(changes)
        return out

    cases: list[tuple[str, Any]] = [
        ("a body field changed after signing (the id no longer matches)", mutated(comment, text="edited")),
        ("a body field changed and the id recomputed (the signature no longer matches)",
         {**resigned(comment, text="edited"), "proof": comment["proof"]}),
        ("wrong author: signed by a key that is not the record's author", resigned(comment, OTHER)),
        ("author claims another identity (signed by the key it names, author changed after)",
         mutated(resigned(comment, OTHER, author=OTHER.did), author=KEY.did)),
        ("flag reason not in the vocabulary, signed", resigned(flag, reason="boring")),
        ("duplicateOf with a reason other than duplicate, signed", resigned(flag, reason="spam")),
        ("comment text over 2000 characters, signed", resigned(comment, text="x" * 2001)),
        ("comment text empty, signed", resigned(comment, text="")),
        ("comment at a negative offset, signed", resigned(comment, at=-1)),
        ("replyTo names a like, not a comment, signed", resigned(comment, replyTo=records["like"]["id"])),
        ("playlist of 501 tracks (over 500), signed", resigned(playlist, tracks=[TRACK_A] * 501)),
        ("playlist seq 0 (from 1), signed", resigned(playlist, seq=0)),
        ("playlist series id not pl- + 16 base64url, signed", resigned(playlist, playlist="my-list")),
        ("playlist with a subject, signed", resigned(playlist, subject=TRACK_A)),
        ("tombstone of a tombstone, signed", resigned(tomb, subject=tomb["id"])),
        ("tombstone of a track (not a social record), signed", resigned(tomb, subject=TRACK_A)),
        ("tombstone with seq but no playlist, signed", resigned(valid()[8][1], playlist=None)),
        ("tombstone with playlist but no seq, signed", resigned(valid()[8][1], seq=None)),
        ("tombstone of a comment naming a playlist series and seq, signed",
         resigned(tomb, playlist=playlist["playlist"], seq=1)),
        ("tombstone of a playlist with seq 0, signed", resigned(valid()[8][1], seq=0)),
        ("like of a did:key (a like names a track), signed", resigned(records["like"], subject=OTHER.did)),
        ("follow of a did:key that is no Ed25519 key, signed",
         resigned(records["follow"], subject="did:key:z6Mk" + "a" * 44)),
        ("a track id that is no JSON-codec CIDv1 (right alphabet and length), signed",
         resigned(records["like"], subject="osp:track:b" + "a" * 60)),
        ("unknown type osp:Repost", mutated(records["like"], type="osp:Repost")),
        ("created not a UTC date-time, signed", resigned(records["like"], created="2026-12-01T13:00:00+01:00")),
        ("created a leap second (second 60), signed", resigned(records["like"], created="2026-12-31T23:59:60Z")),
        ("created an impossible date (February 30), signed",
         resigned(records["like"], created="2026-02-30T12:00:00Z")),
        ("a member the kind does not define, signed", resigned(records["like"], text="likes have no text")),
        ("no proof", {k: v for k, v in records["like"].items() if k != "proof"}),
        ("proofValue of the right shape but wrong", mutated(records["like"], proof={
            **records["like"]["proof"], "proofValue": "z" + "1" * 86})),
    ]
    out = []
    for description, record in cases:
        try:
            verify_social(record)
            raise SystemExit(f"invalid vector verified: {description}")
        except IntegrityError as exc:
            out.append({"description": description, "record": record, "error": exc.check})
    big = jcs({**records["like"], "text": "x" * (64 * 1024)}).decode("utf-8")
    out.append({"description": "over 64 KiB (raw text)", "json": big, "error": "json"})
    out.append({"description": "duplicate JSON key (raw text)", "json": '{"type": "osp:Like", "type": "osp:Like"}',
                "error": "json"})
    for vector in out[-2:]:
        try:
            verify_social(vector["json"])
            raise SystemExit(f"invalid vector verified: {vector['description']}")
        except IntegrityError as exc:
            assert exc.check == vector["error"], (vector["description"], exc.check)
    return out


def render() -> str:
    vectors = []
    for kind, record in valid():
        verify_social(record)
        unsigned = {k: v for k, v in record.items() if k not in ("id", "proof")}
        seed = SEEDS["counting"] if record["author"] == KEY.did else SEEDS["artist-b"]
        vectors.append({"kind": kind, "keySeed": seed, "unsigned": unsigned, "jcs": jcs(unsigned).decode("utf-8"),
                        "id": record["id"], "created": record["created"], "signed": record})
    value = {
        "description": "OSP v0.1 social records (spec §10). valid: record without id and proof -> JCS (RFC 8785) "
                       "-> id osp:<kind>: + CIDv1 (json, sha2-256, base32) -> record with id signed with "
                       "eddsa-jcs-2022 by the author's did:key at `created`. invalid: records a verifier must "
                       "reject; `error` names the first failed check (json, schema, id, proof, verification-method).",
        "valid": vectors,
        "invalid": invalid(),
    }
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not PATH.exists() or PATH.read_text("utf-8") != text:
            print(f"out of date: {PATH.name}", file=sys.stderr)
            sys.exit(1)
    else:
        PATH.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
