"""Social records (issue 11, spec §10): what verifying and storing them costs.

* verify: ``verify_social`` of each kind and of a 500-track playlist (the largest record)
  against ``verify_track`` of a Track Record (baseline), median µs;
* catalog: ``catalog_decode_all`` of a follow's catalog of social records against one of
  as many Track Records (baseline), ms per 1,000 lines;
* storage: ``SocialRecords.add`` one transaction a record against ``add_many`` (one
  transaction a catalog), records/s on a real SQLite library (WAL, ``synchronous=FULL``);
  ``about(track)`` among 20,000 comments, ``edges`` over 50,000 follows and endorsements.

Bounded (under a minute on 2 busy cores); prints figures and ratios.  Run:
``.venv/bin/python bench/social.py``.  The storage part uses records built without a
signature (the repository stores what ``verify_social`` passed and never checks again).
"""

from __future__ import annotations

import base64
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from osp.discovery.feed import catalog_decode_all, catalog_encode
from osp.identity import SigningKey
from osp.library.social import SocialRecords
from osp.library.store import Library
from osp.records import build_social, build_track, jcs, sign_social, sign_track, verify_social, verify_track
from osp.records.social import VerifiedSocial

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(32, 64)))
CREATED = "2026-12-01T12:00:00Z"
CATALOG = 2000  #: lines in each catalog
STORE = 2000  #: records stored one by one and in one batch
COMMENTS, TRACKS = 20_000, 100
EDGES = 50_000


def tid(n: int) -> str:
    digest = base64.b32encode(hashlib.sha256(str(n).encode()).digest()).decode().lower().rstrip("=")
    return "osp:track:bagaaiera" + digest


def sid(kind: str, n: int) -> str:
    return f"osp:{kind}:" + tid(n).removeprefix("osp:track:")


def track(n: int) -> dict[str, Any]:
    fields = {"title": f"Track {n}", "artist": KEY.did, "duration": 180.0, "format": "audio/ogg",
              "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
              "size": 3_000_000, "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87",
              "released": "2026-11-21", "license": "CC0-1.0", "tags": ["ambient"]}
    return sign_track(build_track(fields), KEY, CREATED)


def social(kind: str, **fields: Any) -> dict[str, Any]:
    return sign_social(build_social(kind, KEY.did, fields), KEY, CREATED)


def median_us(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1e6)
    return statistics.median(runs)


def bench_verify() -> None:
    print("verify (median µs, parsed object)")
    base = track(0)
    baseline = median_us(lambda: verify_track(base), 300)
    print(f"  Track Record (baseline)        {baseline:8.0f}")
    samples = {
        "like": social("like", subject=tid(1)),
        "follow": social("follow", subject=OTHER.did),
        "comment": social("comment", subject=tid(1), text="nice " * 40, at=12.5),
        "flag": social("flag", subject=tid(1), reason="spam"),
        "tombstone": social("tombstone", subject=sid("like", 1)),
        "playlist (20 tracks)": social("playlist", playlist="pl-AbCdEfGhIjKlMn_-", seq=1, title="t",
                                       tracks=[tid(i) for i in range(20)]),
        "playlist (500 tracks)": social("playlist", playlist="pl-AbCdEfGhIjKlMn_-", seq=1, title="t",
                                        tracks=[tid(i) for i in range(500)]),
    }
    for name, record in samples.items():
        us = median_us(lambda r=record: verify_social(r), 300 if "500" not in name else 60)  # type: ignore[misc]
        print(f"  {name:<30} {us:8.0f}   ×{us / baseline:4.2f} of a Track Record")
    raw = jcs(samples["playlist (500 tracks)"])
    us = median_us(lambda: verify_social(raw), 60)
    print(f"  playlist (500 tracks), bytes   {us:8.0f}   ({len(raw):,} bytes)")


def bench_catalog() -> None:
    print(f"catalog_decode_all ({CATALOG:,} lines, all by the followed author; ms per 1,000 lines)")
    tracks = catalog_encode([jcs(track(i)) for i in range(CATALOG)])
    records = [social("like", subject=tid(i)) if i % 2 else social("comment", subject=tid(i), text=f"c{i}")
               for i in range(CATALOG)]
    socials = catalog_encode([jcs(r) for r in records])
    start = time.perf_counter()
    assert len(catalog_decode_all(tracks, KEY.did).tracks) == CATALOG
    t_tracks = (time.perf_counter() - start) * 1000 / (CATALOG / 1000)
    start = time.perf_counter()
    assert len(catalog_decode_all(socials, KEY.did).social) == CATALOG
    t_social = (time.perf_counter() - start) * 1000 / (CATALOG / 1000)
    print(f"  Track Records (baseline) {t_tracks:8.0f}   ({len(tracks) / CATALOG:.0f} bytes a line)")
    print(f"  likes and comments       {t_social:8.0f}   ×{t_social / t_tracks:4.2f}"
          f"   ({len(socials) / CATALOG:.0f} bytes a line)")


def synthetic(kind: str, n: int, author: str, **body: Any) -> VerifiedSocial:
    types = {"comment": "osp:Comment", "follow": "osp:Follow", "endorsement": "osp:Endorsement"}
    return VerifiedSocial({"@context": ["https://w3id.org/osp/v0.1"], "type": types[kind], "version": "0.1",
                           "id": sid(kind, n), "author": author, "created": CREATED, **body})


def bench_storage() -> None:
    print("storage (real SQLite, WAL, synchronous=FULL)")
    with tempfile.TemporaryDirectory() as tmp:
        with Library(Path(tmp) / "one.sqlite3") as library:
            repo = SocialRecords(library)
            batch = [synthetic("comment", i, f"did:key:z6Mkauthor{i % 50}", subject=tid(i % TRACKS), text="x")
                     for i in range(STORE)]
            start = time.perf_counter()
            for v in batch:
                repo.add(v, own=False, now=1.0)
            one = STORE / (time.perf_counter() - start)
        with Library(Path(tmp) / "many.sqlite3") as library:
            repo = SocialRecords(library)
            start = time.perf_counter()
            repo.add_many(batch, own=False, now=1.0)
            many = STORE / (time.perf_counter() - start)
            print(f"  add, one transaction each (baseline) {one:9,.0f} records/s")
            print(f"  add_many, one transaction            {many:9,.0f} records/s   ×{many / one:.0f}")
            more = [synthetic("comment", i, f"did:key:z6Mkauthor{i % 500}", subject=tid(i % TRACKS), text="x")
                    for i in range(STORE, COMMENTS)]
            repo.add_many(more, own=False, now=1.0)
            ms = median_us(lambda: repo.about(tid(7), ["comment"]), 30) / 1000
            print(f"  about(track) among {COMMENTS:,} comments on {TRACKS} tracks: {ms:.1f} ms"
                  f" ({COMMENTS // TRACKS} rows)")
            edges = [synthetic("follow" if i % 3 else "endorsement", i, f"did:key:z6Mkauthor{i % 5000}",
                               subject=f"did:key:z6Mkauthor{(i * 7) % 5000}") for i in range(EDGES)]
            repo.add_many(edges, own=False, now=1.0)
            start = time.perf_counter()
            count = sum(1 for _ in repo.edges(["follow", "endorsement"]))
            print(f"  edges(follow, endorsement) over {count:,} rows: {(time.perf_counter() - start) * 1000:.0f} ms")


def main() -> None:
    started = time.perf_counter()
    bench_verify()
    bench_catalog()
    bench_storage()
    print(f"(bench ran {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
