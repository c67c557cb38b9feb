"""Read-only queries for the recommender (``osp.node.recommend``): which artist made every
track known here, and a cheap stamp of the tables its signals come from, so that the node
refits only when they changed enough.  Nothing here writes."""

from __future__ import annotations

from osp.library.store import Library

MAX_TRACKS = 200_000  #: most tracks (library and known records together) ``track_artists`` returns

#: the tables whose rows are recommendation signals, with the column that grows as rows arrive
_STAMPED = (("plays", "n"), ("social", "rowid"), ("follows", "rowid"), ("records", "rowid"), ("tracks", "rowid"))


def track_artists(library: Library, limit: int = MAX_TRACKS) -> dict[str, str]:
    """``{track id: artist did}`` of the library's tracks and the records known from followed
    catalogs (newest first until ``limit``)."""
    out: dict[str, str] = {}
    with library.transaction() as db:
        for tid, artist in db.execute("SELECT id, artist FROM tracks ORDER BY added_at DESC, id LIMIT ?", (limit,)):
            out[str(tid)] = str(artist)
        left = limit - len(out)
        if left > 0:
            for tid, artist in db.execute("SELECT id, artist FROM records ORDER BY seen_at DESC, id LIMIT ?",
                                          (left,)):
                out.setdefault(str(tid), str(artist))
    return out


def stamp(library: Library) -> tuple[int, ...]:
    """``(rows, highest rowid)`` of each signal table, flattened: a change adds or removes
    rows or raises a rowid (rowids are not reused while the table has rows)."""
    out: list[int] = []
    with library.transaction() as db:
        for table, column in _STAMPED:
            count, top = db.execute(f"SELECT count(*), coalesce(max({column}), 0) FROM {table}").fetchone()
            out += [int(count), int(top)]
    return tuple(out)


def changes(before: tuple[int, ...] | None, after: tuple[int, ...]) -> int:
    """How many rows changed between two ``stamp``s, at least: per table the larger of the
    change in rows and the rise of the highest rowid; 1 if the stamps differ otherwise.  Every
    row of ``after`` when there was no ``before``."""
    if before is None or len(before) != len(after):
        return sum(after[0::2])
    moved = sum(max(abs(after[i] - before[i]), after[i + 1] - before[i + 1], 0) for i in range(0, len(after), 2))
    return moved if moved or after == before else 1
