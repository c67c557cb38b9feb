"""A new social record's fields are checked in plain words before the schema speaks
(``osp.social.fields``): what was expected and what was given, never a regex."""

from __future__ import annotations

import pytest

from osp.content.cid import CID, JSON
from osp.core.errors import CallerError
from osp.identity.keys import SigningKey
from osp.records.social import build_social, sign_social, verify_social
from osp.social.fields import check_fields, describe_id

TRACK = f"osp:track:{CID.of(b'fields track', codec=JSON)}"
OTHER = f"osp:track:{CID.of(b'fields other', codec=JSON)}"
ME = SigningKey.from_seed(bytes(range(1, 33)))
PEER = SigningKey.from_seed(bytes(range(2, 34))).did
COMMENT = verify_social(sign_social(build_social("comment", ME.did, {"subject": TRACK, "text": "hi"}), ME,
                                    "2026-12-01T10:00:00Z")).id


@pytest.mark.parametrize(("kind", "fields", "said"), [
    ("like", {"subject": COMMENT}, "expected a track id (osp:track:…), got a comment id (osp:comment:…)"),
    ("like", {"subject": "bogus"}, "expected a track id (osp:track:…), got 'bogus'"),
    ("like", {"subject": "osp:track:nope"}, "got a malformed track id"),
    ("comment", {"subject": PEER, "text": "x"}, "expected a track id (osp:track:…), got a did:key"),
    ("endorsement", {"subject": "bogus"}, "expected a did:key (did:key:z6Mk…), got 'bogus'"),
    ("endorsement", {"subject": TRACK}, "expected a did:key (did:key:z6Mk…), got a track id"),
    ("follow", {"subject": "did:key:z6Mkxx"}, "got a malformed or unusable did:key"),
    ("flag", {"subject": "did:key:z6Mkxx", "reason": "spam"}, "or a did:key (did:key:z6Mk…), got a malformed"),
    ("tombstone", {"subject": "osp:comment:bagaaieranothere"}, "expected a social record id"),
    ("tombstone", {"subject": TRACK}, "a track is not retracted: `osp rm TRACK`"),
    ("comment", {"subject": TRACK, "text": " \t\n "}, "a comment needs some text (not only spaces"),
    ("comment", {"subject": TRACK, "text": ""}, "a comment needs some text"),
    ("comment", {"subject": TRACK, "text": "x", "replyTo": TRACK}, "replyTo: expected a comment id"),
    ("flag", {"subject": TRACK, "reason": "duplicate", "duplicateOf": TRACK}, "not a duplicate of itself"),
    ("flag", {"subject": TRACK, "reason": "duplicate", "duplicateOf": "x"}, "duplicateOf: expected a track id"),
    ("endorsement", {"subject": ME.did}, "you cannot endorse yourself"),
    ("flag", {"subject": ME.did, "reason": "spam"}, "you cannot flag yourself"),
    ("comment", {"subject": TRACK, "text": "\u200b\u200b \u2066"}, "not only spaces or invisible characters"),
    ("comment", {"subject": TRACK, "text": "y" * 2001}, "the comment's text is 2001 characters long; at most 2000"),
    ("flag", {"subject": TRACK, "reason": "spam", "text": "y" * 1001}, "at most 1000"),
    ("flag", {"subject": TRACK, "reason": "spam", "text": " "}, "the flag's text is blank"),
    ("endorsement", {"subject": PEER, "text": "y" * 3000}, "the endorsement's text is 3000 characters long; at most 500"),
    ("flag", {"subject": TRACK, "reason": "spam", "duplicateOf": OTHER}, "duplicateOf goes with reason duplicate"),
    ("like", {"subject": "osp:comment:" + "b" * 60}, "a malformed or unknown id 'osp:comment:bbbbbbbbbbbbbbbbbbbbbbbbbbbb'…"),
])
def test_bad_fields_are_said_plainly(kind: str, fields: dict[str, object], said: str) -> None:
    with pytest.raises(CallerError) as caught:
        check_fields(kind, fields, me=ME.did)
    assert said in caught.value.message
    assert "match" not in caught.value.message and "^" not in caught.value.message


@pytest.mark.parametrize(("kind", "fields"), [
    ("like", {"subject": TRACK}),
    ("comment", {"subject": TRACK, "text": " hi ", "replyTo": COMMENT}),
    ("endorsement", {"subject": PEER}),
    ("follow", {"subject": PEER}),
    ("flag", {"subject": PEER, "reason": "spam"}),
    ("flag", {"subject": TRACK, "reason": "duplicate", "duplicateOf": OTHER}),
    ("tombstone", {"subject": COMMENT}),
    ("comment", {"subject": TRACK, "text": "y" * 2000}),
    ("endorsement", {"subject": PEER, "text": "y" * 500}),
    ("endorsement", {"subject": ME.did}),  # no identity known: nothing to compare (me=None below)
])
def test_good_fields_pass(kind: str, fields: dict[str, object]) -> None:
    check_fields(kind, fields, me=None)


def test_describe_id_cuts_what_it_quotes() -> None:
    assert describe_id("x" * 500) == repr("x" * 40)
    assert describe_id(None) == "no text" and describe_id(3) == "a JSON int"
    assert describe_id("") == "an empty string"
