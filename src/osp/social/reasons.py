"""Why a track is recommended (``osp.social.recommend``), in words that are true as said:
each reason is counted from the model's signals (who liked it, which playlists hold it),
never inferred.  Pure; numpy on the model's sparse matrices.

``Reason`` is one reason and its sentence; ``Why`` picks the truest reason for each result
of one query; ``co_likers`` counts the people who like two tracks ("more like this").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

    from osp.social.recommend import Model

WHY_SEEDS = 20  #: the listener's strongest tracks looked at for "liked by N people who like X"


@dataclass(frozen=True)
class Reason:
    """Why a track is recommended, counted from the signals so that it is true as said
    (``count``: how many people or playlists; ``about``: X's track id, or ``None``):

    ========== =========================================================================
    kind       text
    ========== =========================================================================
    sounds     "sounds like X" (audio similarity carried it)
    follow     "by an artist you follow"
    liked      "liked by N people you trust" (likers with trust > 0)
    playlists  "in N playlists with tracks you played or liked"
    listeners  "liked by N people who like X" (likers of both)
    near       "close to X in what people like" (the model's factors alone: no one signal)
    trusted    "popular with N people you trust" (cold start, trust-weighted votes)
    popular    "popular with N people on the network" (cold start, nobody trusted yet)
    ========== ========================================================================="""

    kind: str
    about: str | None = None
    count: int = 0

    def text(self, title: Callable[[str], str] = lambda t: t) -> str:
        """The sentence, ``title(track id)`` naming X."""
        x = title(self.about) if self.about else ""
        n = self.count
        people = f"{n} {'person' if n == 1 else 'people'}" if n > 0 else "people"
        return {"listeners": f"liked by {people} who like{'s' if n == 1 else ''} {x}", "sounds": f"sounds like {x}",
                "follow": "by an artist you follow", "liked": f"liked by {people} you trust",
                "playlists": f"in {n} playlist{'' if n == 1 else 's'} with tracks you played or liked",
                "near": f"close to {x} in what people like",
                "trusted": f"popular with {people} you trust",
                "popular": f"popular with {people} on the network" if n > 0 else "popular on the network"}[self.kind]


def row_of(m: sp.csr_matrix, i: int) -> np.ndarray[Any, np.dtype[np.int32]]:
    """The column indexes of row ``i`` of ``m`` (CSR)."""
    found: np.ndarray[Any, np.dtype[np.int32]] = m.indices[m.indptr[i]:m.indptr[i + 1]]
    return found


class Why:
    """The truest social reason for recommending a column to ``user`` whose strongest tracks
    are the columns ``seeds`` (``Reason``'s table, in this order): likes by trusted people,
    playlists beside the user's tracks, likes shared with one of the user's tracks, else the
    model's closeness to the nearest seed.  Built once per query: what every result shares
    (each row's trust, the playlists holding a seed) is computed once, with numpy, so a
    result costs O(its likers and holders), not O(rows)."""

    def __init__(self, model: Model, user: str, seeds: np.ndarray[Any, Any],
                 weights: Callable[[str], float] | None) -> None:
        self.model, self.user, self.seeds = model, user, seeds
        n = len(model.owners)
        mine = model.users.get(user, -1)
        self.person = model.is_person.copy()
        if mine >= 0:
            self.person[mine] = False
        self.trusted: np.ndarray[Any, np.dtype[np.bool_]] | None = None
        if weights is not None:
            self.trusted = np.asarray([weights(o) > 0 for o in model.owners], dtype=bool) & self.person
        votes = model.votes()
        lists = np.zeros(n, dtype=bool)
        for x in seeds:
            lists[row_of(votes, int(x))] = True
        owned = np.asarray([o == user for o in model.owners], dtype=bool)
        self.lists = lists & ~model.is_person & ~owned  #: others' playlists holding one of the user's tracks

    def __call__(self, col: int) -> Reason:
        model = self.model
        who = np.zeros(0, dtype=np.int32) if model.likers is None else row_of(model.likers, col)
        who = who[self.person[who]]
        if self.trusted is not None and (trusted := int(self.trusted[who].sum())):
            return Reason("liked", None, trusted)
        if lists := int(self.lists[row_of(model.votes(), col)].sum()):
            return Reason("playlists", None, lists)
        if model.likers is not None and who.size:
            best = (0, -1)
            for x in self.seeds[:WHY_SEEDS]:
                both = int(np.intersect1d(who, row_of(model.likers, int(x)), assume_unique=True).size)
                if both > best[0]:
                    best = (both, int(x))
            if best[0] > 0:
                return Reason("listeners", model.items[best[1]], best[0])
        return Reason("near", model.items[closest(model, col, self.seeds)])


def closest(model: Model, col: int, seeds: np.ndarray[Any, Any]) -> int:
    """The seed column whose item factors are closest (cosine) to ``col``'s."""
    sims = model.unit_factors[seeds] @ model.unit_factors[col]
    return int(seeds[int(np.argmax(sims))])


def co_likers(model: Model, track: str, col: int) -> int:
    """How many people (rows) like both ``track`` and column ``col``."""
    other = model.item_index.get(track)
    if model.likers is None or other is None:
        return 0
    return int(np.intersect1d(row_of(model.likers, other), row_of(model.likers, col), assume_unique=True).size)
