"""Plain-words checks of a new social record's fields, before it is built and signed (spec §10.2).

``build_social`` refuses a bad body with the JSON Schema's words (``'bogus' does not
match '^did:key:z6Mk…$'``), which is right for a peer's record and wrong for a person at
a prompt.  ``check_fields(kind, fields, me=…)`` checks what a person types first and says
what was expected and what was given::

    expected a track id (osp:track:…), got a comment id (osp:comment:…)

It checks: the subject's kind (a like and a comment are about a track, an endorsement and
a follow about a did:key, a flag about either, a tombstone names a social record); a
comment's text is not blank and its ``replyTo`` is a comment id; a flag's ``duplicateOf``
is a track id other than the flagged one and goes with reason ``duplicate``; nobody
endorses or flags themself; texts within their lengths (spec §10.1: a comment 2000
characters, a flag 1000, an endorsement 500) and not blank (spaces and invisible format
characters alone are blank).  What it does not check (numbers) ``build_social`` still does.
Pure; raises ``CallerError``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from osp.core.errors import CallerError
from osp.identity.didkey import DidKeyError, public_key_from_bare_did
from osp.records.social import is_track_id, social_kind

__all__ = ["check_fields", "describe_id"]

TRACK = "a track id (osp:track:…)"
DID = "a did:key (did:key:z6Mk…)"
RECORD = "a social record id (osp:<kind>:…)"
TEXT_MAX = {"comment": 2000, "flag": 1000, "endorsement": 500}  #: spec §10.1, in characters (code points)


def _is_did(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith("did:key:z6Mk"):
        return False
    try:
        public_key_from_bare_did(value)
    except DidKeyError:
        return False
    return True


def describe_id(value: object) -> str:
    """What ``value`` is, in words: ``a track id``, ``a comment id (osp:comment:…)``, ``a
    did:key``, ``a malformed track id``, or the value itself (quoted, cut to 40 characters)."""
    if not isinstance(value, str):
        return "no text" if value is None else f"a JSON {type(value).__name__}"
    if is_track_id(value):
        return "a track id"
    kind = social_kind(value)
    if kind is not None:
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} id (osp:{kind}:…)"
    if _is_did(value):
        return "a did:key"
    if value.startswith("did:"):
        return "a malformed or unusable did:key"
    if value.startswith("osp:track:"):
        return "a malformed track id"
    if value.startswith("osp:"):
        return f"a malformed or unknown id {value[:40]!r}{'…' if len(value) > 40 else ''}"
    return repr(value[:40]) if value else "an empty string"


def _expect(ok: bool, expected: str, value: object, member: str = "") -> None:
    if not ok:
        where = f"{member}: " if member else ""
        raise CallerError(f"{where}expected {expected}, got {describe_id(value)}")


def _blank(text: str) -> bool:
    """True when ``text`` holds nothing visible: only white space and format characters
    (zero-width spaces, joiners, bidi marks: Unicode category Cf)."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc") for ch in text)


def _check_text(kind: str, fields: dict[str, Any], *, required: bool) -> None:
    text = fields.get("text")
    if text is None and not required:
        return
    if not isinstance(text, str) or _blank(text):
        raise CallerError(f"a {kind} needs some text (not only spaces or invisible characters)" if required
                          else f"the {kind}'s text is blank: leave it out or write something")
    limit = TEXT_MAX[kind]
    if len(text) > limit:
        raise CallerError(f"the {kind}'s text is {len(text)} characters long; at most {limit}")


def check_fields(kind: str, fields: dict[str, Any], *, me: str | None) -> None:
    """Check a new record's ``fields`` (the body ``build_social`` takes) of ``kind`` as made
    by ``me`` (our did, ``None`` when unknown); ``CallerError`` in plain words (see the module
    docstring).  Unknown kinds and playlists pass (``build_social`` speaks for them)."""
    subject = fields.get("subject")
    if kind in ("like", "comment"):
        _expect(is_track_id(subject), TRACK, subject)
    elif kind in ("follow", "endorsement"):
        _expect(_is_did(subject), DID, subject)
        if kind == "endorsement" and subject == me:
            raise CallerError("you cannot endorse yourself: endorse the artists and curators you trust")
    elif kind == "flag":
        _expect(is_track_id(subject) or _is_did(subject), f"{TRACK} or {DID}", subject)
        if subject == me:
            raise CallerError("you cannot flag yourself: retract or edit your own records instead")
    elif kind == "tombstone":
        if is_track_id(subject):
            raise CallerError("a track is not retracted: `osp rm TRACK` stops seeding it and removes it here; "
                              "retract names one of your social records (osp:<kind>:…)")
        _expect(social_kind(subject) is not None, RECORD, subject)
    if kind in TEXT_MAX:
        _check_text(kind, fields, required=kind == "comment")
    if kind == "comment":
        reply = fields.get("replyTo")
        if reply is not None:
            _expect(social_kind(reply) == "comment", "a comment id (osp:comment:…)", reply, "replyTo")
    if kind == "flag" and fields.get("duplicateOf") is not None:
        if fields.get("reason") != "duplicate":
            raise CallerError("duplicateOf goes with reason duplicate (osp flag … --reason duplicate "
                              "--duplicate-of TRACK)")
        original = fields["duplicateOf"]
        _expect(is_track_id(original), TRACK, original, "duplicateOf")
        if original == subject:
            raise CallerError("duplicateOf: a track is not a duplicate of itself; name the original track")
