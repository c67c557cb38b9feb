"""Checks of a new social record against what this node knows, before it is signed (spec §10.2).

``check_new_record(node, kind, fields)`` runs the plain-words shape checks of
``osp.social.fields.check_fields`` (our did from the library), then what needs the
library: a comment's ``at`` within the track's duration when the track is known here, and
a ``replyTo`` naming a comment known here that is about another track.  A reply to a
comment not known here is allowed (it may reach us later, or never).  The CLI's offline
path and the control API's ``POST /api/social`` call it; raises ``CallerError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from osp.core.errors import CallerError
from osp.social.fields import check_fields

if TYPE_CHECKING:
    from osp.node.core import Node

__all__ = ["check_new_record"]


def _clock(seconds: float) -> str:
    """``m:ss`` for a time offset in seconds."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def check_new_record(node: Node, kind: str, fields: dict[str, Any]) -> None:
    """``CallerError`` (plain words) if ``fields`` cannot make a sensible record of ``kind``
    (see the module docstring); nothing otherwise.  Reads the library, writes nothing."""
    if not isinstance(kind, str) or not isinstance(fields, dict):
        raise CallerError("a social record is a kind and an object of fields")
    check_fields(kind, fields, me=node.library.meta("did"))
    if kind != "comment":
        return
    subject = str(fields["subject"])
    at = fields.get("at")
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        track = node.library.track(subject)
        if track is not None and track.duration > 0 and at > track.duration:
            raise CallerError(f"at: {at:g} s is past the end of the track ({_clock(track.duration)}, "
                              f"{track.duration:g} s)")
    reply = fields.get("replyTo")
    if isinstance(reply, str):
        parent = node.social.records.get(reply)
        if parent is not None and parent.kind == "comment" and parent.subject != subject:
            raise CallerError("replyTo: that comment is about another track; a reply is about the same track "
                              "as the comment it answers")
