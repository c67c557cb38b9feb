"""What a node shows and serves of a track's social records, whatever a flood holds (spec §10.5).

Every view of a track's records is bounded, and picked in this order, so that no number of
records by strangers (Sybils cost nothing) can push the listener's own or trusted ones out:

1. the listener's own records (looked up by author: ``SocialRecords.about_by``);
2. those of the identities the web of trust gives trust > 0, most trusted first
   (``first_authors``; none while trust is not computed yet);
3. the rest, the last received first (a date a peer chose cannot push others out),

up to a count and a size of record JSON; what is left out is counted (``more``).  Likes
are counted by SQLite (``SocialRecords.count_about``), never from a window of rows, and
whether the listener likes the track is one look-up of their own like.

Users: ``osp.apps.http.social.track_social`` (``GET /api/tracks/{id}/social``, ``osp
comments``), ``SocialService.about`` and the peer answer (``SocialService.peer_answer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osp.library.social import MAX_ROWS, SocialRecords, SocialRow
from osp.records.canonical import jcs

if TYPE_CHECKING:
    from osp.node.core import Node

MAX_VIEW_COMMENTS = 500  #: comments one track view shows at most
MAX_VIEW_FLAGS = 200  #: flags one track view shows at most
MAX_VIEW_BYTES = 512 * 1024  #: bytes of record JSON (JCS) the comments of a view hold at most
MAX_VIEW_FLAG_BYTES = 128 * 1024  #: bytes of record JSON (JCS) the flags of a view hold at most
MAX_TRUSTED = 100_000  #: trusted identities looked up by author at most (the most trusted)


def first_authors(node: Node) -> list[str]:
    """The authors whose records come first: the listener (when the node has an identity),
    then every identity with effective trust > 0, most trusted first (``node.trust.view()``:
    never computed on the request path; none until it is)."""
    me = node.library.meta("did")
    out = [me] if me else []
    scores = node.trust.view()
    if scores is not None:
        out += [did for did, _ in scores.top(MAX_TRUSTED) if did != me]
    return out


def pick(records: SocialRecords, subject: str, kinds: Sequence[str], first: Sequence[str], *,
         limit: int, max_bytes: int | None = None) -> list[SocialRow]:
    """At most ``limit`` records of ``kinds`` about ``subject``: those by ``first`` (in its
    order), then the others the last received first; with ``max_bytes``, also at most that
    many bytes of record JSON (the first record always, however large: it is the listener's
    or the most trusted).  In that order (the caller sorts for display)."""
    chosen = records.about_by(subject, kinds, first, limit=limit)
    seen = {r.id for r in chosen}
    if len(chosen) < limit:  # a window that holds ``limit`` rows not chosen yet, when there are
        window = records.about(subject, kinds, limit=limit + len(chosen))
        window.sort(key=lambda r: (r.received, r.created, r.id), reverse=True)  # then the newest
        chosen += [r for r in window if r.id not in seen][:limit - len(chosen)]
    if max_bytes is None:
        return chosen
    out: list[SocialRow] = []
    size = 0
    for row in chosen:
        size += len(jcs(row.record))
        if out and size > max_bytes:
            break
        out.append(row)
    return out


@dataclass(frozen=True)
class TrackSocial:
    """A track's social records as this node shows them (module docstring)."""

    comments: list[dict[str, Any]]  #: the comments shown (records), oldest first (by ``created``, then id)
    flags: list[dict[str, Any]]  #: the flags shown (records), oldest first
    more_comments: int  #: comments held but not shown (the least trusted, received longest ago)
    more_flags: int  #: flags held but not shown
    likes: int  #: identities that like the track (every liker: a thousand Sybils are a thousand likes)
    liked: bool  #: whether the listener likes it
    likers: frozenset[str]  #: the likers among the listener and the trusted identities (to weigh likes)


def _oldest_first(rows: list[SocialRow]) -> list[dict[str, Any]]:
    return [r.record for r in sorted(rows, key=lambda r: (r.created, r.id))]


def track_social(node: Node, track_id: str) -> TrackSocial:
    """``track_id``'s comments, flags and likes held here, bounded (``MAX_VIEW_COMMENTS`` and
    ``MAX_VIEW_BYTES``, ``MAX_VIEW_FLAGS`` and ``MAX_VIEW_FLAG_BYTES``: under 1 MB of JSON
    in all), own and trusted first (module docstring).
    ``track_id`` is not checked here (``check_track_id``)."""
    records = node.social.records
    first = first_authors(node)
    me = node.library.meta("did")
    comments = pick(records, track_id, ("comment",), first, limit=MAX_VIEW_COMMENTS, max_bytes=MAX_VIEW_BYTES)
    flags = pick(records, track_id, ("flag",), first, limit=MAX_VIEW_FLAGS, max_bytes=MAX_VIEW_FLAG_BYTES)
    likers = frozenset(r.author for r in records.about_by(track_id, ("like",), first, limit=None))
    return TrackSocial(
        comments=_oldest_first(comments), flags=_oldest_first(flags),
        more_comments=max(0, records.count_about(track_id, "comment") - len(comments)),
        more_flags=max(0, records.count_about(track_id, "flag") - len(flags)),
        likes=records.count_about(track_id, "like", distinct_authors=True),
        liked=bool(me) and records.find(str(me), "like", track_id) is not None,
        likers=likers)


def about(node: Node, track_id: str, kinds: Sequence[str], *, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """At most ``limit`` records of ``kinds`` about ``track_id``, own and trusted first
    (``pick``), returned oldest first."""
    return _oldest_first(pick(node.social.records, track_id, kinds, first_authors(node), limit=limit))
