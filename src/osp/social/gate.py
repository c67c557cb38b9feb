"""The quality gate: what the listener's web of trust hides, and why.  Pure.

Nothing is ever dropped: an item (a search result, a comment, a feed entry) the gate
stops is still returned, with ``"hidden": {"why", "by"}`` saying why, so the listener can
look behind it.  ``judge`` decides for one item, in this order:

1. a flag on the item (its track id) or on its author by **the listener**
   (``"flagged spam by you"``);
2. … by a curator on one of the listener's **moderation lists** (``GateSettings.lists``:
   did:keys whose flags and endorsements the listener adopts;
   ``"flagged spam by did:key:z6Mk…abc (your list)"``);
3. … by a **trusted flagger** (``TrustScores.trusted_flagger``: *relative* trust — trust
   divided by the typical trusted identity's — at least ``flag_scale``, 0.5, so the same
   flaggers count whatever the graph's size; ``"flagged spam by … (trust 0.93 × typical)"``)
   — unless the listener follows or endorses the author directly (``TrustScores.chosen``),
   and a flag on one track with a reason outside ``IDENTITY_REASONS`` hides that track only,
   not the author's other items;
4. the author's **relative trust** (``TrustScores.standing``: effective trust after flags
   divided by the typical trusted identity's, so 1 = typical, whatever the graph's size)
   **below the threshold** (``"trust 0.02 × typical below your gate 0.1"``).  Threshold 0,
   the default, turns this test off: it hides no one for low trust, while rules 1–3 still
   hide what the listener, their lists or someone they trust flagged (shown as hidden, with
   why); 0.1 hides identities trusted less than a
   tenth of typical, and everyone outside the web of trust; 1 hides identities below typical
   trust (about half of the trusted ones); at most ``MAX_THRESHOLD``.

The listener's own items are never hidden; a self-flag counts for nothing.  Ranking
(``blend``) mixes the text match score with the author's relative trust, hidden items last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from osp.core.errors import CallerError
from osp.identity.didkey import DidKeyError, public_key_from_bare_did
from osp.social.trust import FlagMark, TrustScores, short_did

MAX_LISTS = 32  #: moderation lists one listener may subscribe to
MAX_THRESHOLD = 10.0  #: highest gate threshold (relative trust: 10 × typical)
TRUST_WEIGHT = 0.3  #: share of the ranking blend given to trust (the rest to the text match score)
#: flag reasons about the identity: a trusted flag on one of its tracks hides all its items
#: (other reasons — a duplicate, a false AI claim — are about that track alone)
IDENTITY_REASONS = frozenset({"spam", "impersonation", "malicious"})


@dataclass(frozen=True)
class GateSettings:
    """The listener's gate: ``threshold`` (relative trust, ``TrustScores.standing``, in
    [0, ``MAX_THRESHOLD``], under which an author's items are hidden; 0 = this test off
    (flags by the listener, their lists and trusted flaggers still hide), 1 = below
    typical trust) and ``lists`` (curators' did:keys, at most ``MAX_LISTS``)."""

    threshold: float = 0.0
    lists: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> GateSettings:
        """From ``{"threshold"?: float, "lists"?: [did…]}``; ``CallerError`` on anything else."""
        if not isinstance(data, dict):
            raise CallerError("the gate is a JSON object {\"threshold\", \"lists\"}")
        extra = set(data) - {"threshold", "lists"}
        if extra:
            raise CallerError(f"unknown gate fields: {', '.join(sorted(extra))}")
        threshold = data.get("threshold", 0.0)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                or not 0 <= threshold <= MAX_THRESHOLD:
            raise CallerError(f"threshold must be a number from 0 to {MAX_THRESHOLD:g} (relative trust: 0 hides no "
                              "one for low trust, 1 hides identities below typical trust)")
        lists = data.get("lists", [])
        if not isinstance(lists, list) or not all(isinstance(d, str) for d in lists):
            raise CallerError("lists must be a list of did:keys")
        return cls(float(threshold), tuple(check_list(d) for d in dict.fromkeys(lists))).checked()

    def checked(self) -> GateSettings:
        if len(self.lists) > MAX_LISTS:
            raise CallerError(f"at most {MAX_LISTS} moderation lists")
        return self

    def with_list(self, did: str, *, add: bool) -> GateSettings:
        """A copy with ``did`` subscribed (``add``) or unsubscribed; ``CallerError`` for a bad
        did:key, an unsubscription of a list not subscribed, or too many lists."""
        did = check_list(did)
        if add:
            return replace(self, lists=tuple(dict.fromkeys([*self.lists, did]))).checked()
        if did not in self.lists:
            raise CallerError(f"not subscribed to {did}")
        return replace(self, lists=tuple(d for d in self.lists if d != did))

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "lists": list(self.lists)}


def check_list(did: str) -> str:
    """``did`` if it is an Ed25519 did:key, else ``CallerError``."""
    try:
        public_key_from_bare_did(did)
    except DidKeyError as exc:
        raise CallerError(f"a moderation list is a curator's did:key ({exc})") from exc
    return did


@dataclass(frozen=True)
class Hidden:
    """Why an item is hidden: ``why`` (a sentence) and ``by`` (the flagger's did, ``None``
    when the threshold hid it)."""

    why: str
    by: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"why": self.why, "by": self.by}


def judge(scores: TrustScores | None, gate: GateSettings, *, author: str | None,
          subjects: Sequence[str] = (), names: Mapping[str, str] | None = None) -> Hidden | None:
    """Whether the gate hides an item by ``author`` about ``subjects`` (its own id: a track
    id), and why (module docstring); ``None`` when it shows.  Without ``scores`` (no trust
    computed yet) nothing is hidden."""
    if scores is None or author == scores.user:
        return None
    names = names or {}
    best: tuple[int, float, FlagMark] | None = None
    pending = set(gate.lists) - set(scores.lists)  # lists subscribed since the scores were computed
    chosen = author is not None and scores.chosen(author)  # followed or endorsed by the listener
    for subject in (*subjects, *([author] if author else [])):
        for mark in scores.flags_on(subject):  # heaviest first: past the trusted ones none can hide
            third_party = mark.flagger != scores.user and mark.flagger not in gate.lists \
                and mark.flagger not in scores.lists
            if third_party and (chosen or (subject == author and mark.subject != author
                                           and mark.reason not in IDENTITY_REASONS)):
                # another identity's flag never overrides the listener's own follow or
                # endorsement; a track flagged "duplicate" or "not-ai" hides that track only
                continue
            weight = scores.flag_weight(mark.flagger)
            if weight < scores.params.flag_scale and mark.flagger not in pending:
                if not pending:
                    break
                continue
            if mark.flagger == author:
                continue
            if mark.flagger == scores.user:
                order = 0
            elif mark.flagger in gate.lists or mark.flagger in scores.lists:
                order = 1
            elif scores.trusted_flagger(mark.flagger):
                order = 2
            else:
                continue
            if best is None or (order, -weight) < (best[0], -best[1]):
                best = (order, weight, mark)
    if best is not None:
        order, weight, mark = best
        flagged = " ".join(filter(None, ["flagged", mark.reason]))
        if order == 0:
            return Hidden(f"{flagged} by you", mark.flagger)
        who = names.get(mark.flagger) or short_did(mark.flagger)
        tail = "your list" if order == 1 else f"trust {weight:.2g} × typical"
        return Hidden(f"{flagged} by {who} ({tail})", mark.flagger)
    if gate.threshold > 0 and author is not None:
        standing = scores.standing(author)
        if standing < gate.threshold:
            lowered = " (lowered by flags)" if scores.score(author) < scores.base_score(author) else ""
            what = "no trust (outside your web of trust)" if standing == 0 else f"trust {standing:.2g} × typical"
            return Hidden(f"{what}{lowered} below your gate {gate.threshold:g}", None)
    return None


def rounded(trust: float) -> float:
    """A trust score for JSON: four significant digits."""
    return float(f"{trust:.4g}")


def annotate(scores: TrustScores | None, gate: GateSettings, items: Sequence[dict[str, Any]], *,
             names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """``items`` (dicts with ``author`` or ``artist``, and ``id``) each with ``trust`` (the
    author's effective trust, ``None`` before any is computed or without an author) and
    ``hidden`` (``Hidden.to_json()`` or ``None``) added; new dicts, same order."""
    out = []
    for item in items:
        author = item.get("author") or item.get("artist")
        author = author if isinstance(author, str) else None
        subject = item.get("id")
        hidden = judge(scores, gate, author=author, subjects=[subject] if isinstance(subject, str) else [], names=names)
        trust = rounded(scores.score(author)) if scores is not None and author is not None else None
        out.append(item | {"trust": trust, "hidden": hidden.to_json() if hidden else None})
    return out


def blend(score: float, relative_trust: float, weight: float = TRUST_WEIGHT) -> float:
    """The ranking score of a result: ``(1 − weight) · score + weight · relative_trust``
    (both in [0, 1]; ``TrustScores.relative``)."""
    return (1 - weight) * score + weight * relative_trust
