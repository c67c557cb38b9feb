"""``osp conformance URL``: check any node's peer HTTP API against OSP v0.1 (spec/osp-v0.1.md
§8 with the social records of a track, §10.5, and the search route of §9.3).

Each check is a small function over one HTTP exchange; the result is a list of
``Check`` rows (name, pass/fail, detail, spec section).  Everything the node returns is
verified with our own verifiers (records, CIDs, CAR blocks, torrents), so a node passes
only if another implementation could use it.
"""

from __future__ import annotations

import functools
import io
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from osp.content.car import read_car
from osp.content.cid import CID, RAW
from osp.core.errors import OspError
from osp.discovery.keys import title_words
from osp.discovery.search import MAX_RESPONSE_BYTES, MAX_RESULTS_PER_PEER, Query, match
from osp.distribution.engine import parse_metainfo
from osp.distribution.gateway_client import GatewayClient
from osp.distribution.pieces import piece_length_for
from osp.records.canonical import strict_loads
from osp.records.social import verify_social
from osp.records.track import VerifiedTrack, verify_track
from osp.social.intake import MAX_ANSWER_BYTES, on_topic, parse_answer

UNKNOWN_TRACK = "osp:track:bagaaieraaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


@dataclass(frozen=True)
class Check:
    """One conformance check: ``name``, ``ok``, a ``detail`` line and the ``section`` it tests."""

    name: str
    ok: bool
    detail: str
    section: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "section": self.section}


class _Fail(Exception):
    pass


def _expect(condition: bool, detail: str) -> None:
    if not condition:
        raise _Fail(detail)


class Conformance:
    """Runs the checks against ``base_url``; ``max_tracks`` bounds how many records are fetched."""

    def __init__(self, base_url: str, *, timeout: float = 15.0, max_tracks: int = 3) -> None:
        self.base = base_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)
        self.max_tracks = max_tracks
        self.results: list[Check] = []
        self.tracks: list[VerifiedTrack] = []

    def check(self, name: str, section: str, fn: Callable[[], str]) -> bool:
        try:
            detail = fn()
            self.results.append(Check(name, True, detail, section))
            return True
        except (_Fail, OspError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            detail = exc.message if isinstance(exc, OspError) else str(exc) or type(exc).__name__
            self.results.append(Check(name, False, detail[:300], section))
            return False

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(self.base + path, **kw)

    # -- checks ------------------------------------------------------------------

    def node_info(self) -> str:
        r = self.get("/osp/v0/node")
        _expect(r.status_code == 200, f"HTTP {r.status_code}")
        info = strict_loads(r.content)
        _expect(info.get("protocol") == "osp/0.1", f"protocol is {info.get('protocol')!r}, expected 'osp/0.1'")
        port = (info.get("bittorrent") or {}).get("port")
        _expect(isinstance(port, int) and 0 < port < 65536, "no BitTorrent port")
        return f"{info.get('software', '?')} {info.get('version', '')}, BitTorrent port {port}"

    def peer_headers(self) -> str:
        r = self.get("/osp/v0/node", headers={"Origin": "https://client.example"})
        h = r.headers
        _expect(h.get("access-control-allow-origin") == "*", "no Access-Control-Allow-Origin: *")
        _expect(h.get("x-content-type-options") == "nosniff", "no X-Content-Type-Options: nosniff")
        _expect("sandbox" in h.get("content-security-policy", ""), "no Content-Security-Policy: sandbox")
        return "CORS *, nosniff, CSP sandbox"

    def listing(self) -> str:
        r = self.get("/osp/v0/tracks", params={"limit": str(self.max_tracks)})
        _expect(r.status_code == 200, f"HTTP {r.status_code}")
        body = strict_loads(r.content, max_bytes=16 * 1024 * 1024, max_depth=32)
        _expect(isinstance(body.get("tracks"), list) and isinstance(body.get("total"), int), "not {tracks: [], total: n}")
        self.tracks = [verify_track(t) for t in body["tracks"][: self.max_tracks]]
        return f"{body['total']} tracks; {len(self.tracks)} verified (signature, id, schema)"

    def record(self, track: VerifiedTrack) -> str:
        r = self.get(f"/osp/v0/tracks/{track.id}")
        _expect(r.status_code == 200, f"HTTP {r.status_code}")
        _expect(r.headers.get("content-type", "").split(";")[0] in ("application/ld+json", "application/json"),
                f"content type {r.headers.get('content-type')}")
        _expect(verify_track(r.content).record == track.record, "differs from the listing")
        return "verified"

    def unknown_record(self) -> str:
        r = self.get(f"/osp/v0/tracks/{UNKNOWN_TRACK}")
        _expect(r.status_code == 404, f"HTTP {r.status_code}, expected 404")
        return "404"

    def read_only(self) -> str:
        r = self.client.post(self.base + "/osp/v0/tracks", json={})
        _expect(r.status_code in (404, 405), f"POST answered HTTP {r.status_code}, expected 405")
        return f"POST refused ({r.status_code})"

    def torrent(self, track: VerifiedTrack) -> str:
        r = self.get(f"/osp/v0/tracks/{track.id}/torrent")
        _expect(r.status_code == 200, f"HTTP {r.status_code}")
        mi = parse_metainfo(r.content)
        _expect(mi.infohash == track.infohash, f"infohash {mi.infohash}, the record says {track.infohash}")
        _expect(mi.size == track.record["size"], f"{mi.size} bytes, the record says {track.record['size']}")
        want = piece_length_for(mi.size)
        _expect(mi.piece_length == want, f"piece length {mi.piece_length}, OSP v0.1 requires {want} for {mi.size} bytes")
        seeds = [u for u in mi.web_seeds if u.endswith(f"/ipfs/{track.record['cid']}")]
        _expect(bool(seeds), "no web seed pointing at /ipfs/{cid}")
        w = self.client.get(seeds[0], headers={"Range": "bytes=0-15"})
        _expect(w.status_code == 206 and len(w.content) == 16, f"web seed answered HTTP {w.status_code}")
        return f"infohash matches, web seed {seeds[0]} answers ranges"

    def raw_block(self, track: VerifiedTrack) -> str:
        cid = CID.decode(track.record["cid"])
        r = self.get(f"/ipfs/{cid}", params={"format": "raw"})
        _expect(r.status_code == 200, f"HTTP {r.status_code}")
        _expect(r.headers.get("content-type", "").startswith("application/vnd.ipld.raw"), "not application/vnd.ipld.raw")
        _expect(cid.verify(r.content), "the block does not hash to its CID")
        return f"{len(r.content)} bytes, hash matches"

    def car(self, track: VerifiedTrack) -> str:
        root = CID.decode(track.record["cid"])
        r = self.get(f"/ipfs/{root}", params={"format": "car"})
        _expect(r.status_code == 200, f"HTTP {r.status_code}")
        _expect(r.headers.get("content-type", "").startswith("application/vnd.ipld.car"), "not application/vnd.ipld.car")
        _, sections = read_car(r.content)
        blocks = list(sections)
        _expect(bool(blocks) and blocks[0][0] == root, "the first block is not the root")
        bad = [str(c) for c, d in blocks if not c.verify(d)]
        _expect(not bad, f"blocks fail their hash: {bad[:2]}")
        leaves = sum(len(d) for c, d in blocks if c.codec == RAW)
        return f"{len(blocks)} blocks verified" + (f", {leaves} leaf bytes" if leaves else "")

    def blockwise(self, track: VerifiedTrack) -> str:
        out = io.BytesIO()
        with GatewayClient(self.base, allow_private=True) as client:  # a URL the user typed
            size = client.fetch_file(CID.decode(track.record["cid"]), out, int(track.record["size"]))
        self._file = out.getvalue()
        return f"{size} bytes rebuilt from verified blocks"

    def file_range(self, track: VerifiedTrack) -> str:
        url = f"/ipfs/{track.record['cid']}"
        size = int(track.record["size"])
        r = self.get(url, headers={"Range": "bytes=0-1023"})
        _expect(r.status_code == 206, f"HTTP {r.status_code}, expected 206")
        _expect(r.headers.get("content-range") == f"bytes 0-{min(1023, size - 1)}/{size}",
                f"Content-Range {r.headers.get('content-range')}")
        if getattr(self, "_file", None) is not None:
            _expect(r.content == self._file[:1024], "range bytes differ from the verified DAG")
        past = self.get(url, headers={"Range": f"bytes={size}-"})
        _expect(past.status_code == 416, f"range past the end answered HTTP {past.status_code}, expected 416")
        pre = self.client.request("OPTIONS", self.base + url, headers={
            "Origin": "https://client.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range"})
        allowed = pre.headers.get("access-control-allow-headers", "").lower()
        _expect(pre.status_code in (200, 204) and "range" in allowed, "CORS preflight does not allow Range")
        return "206 with Content-Range, 416 past the end, preflight allows Range"

    def _search(self, params: list[tuple[str, str]]) -> tuple[Query, list[VerifiedTrack], bool]:
        """One search exchange, checked against §9.3: (query, verified records, truncated)."""
        query = Query.from_params(params)
        r = self.get("/osp/v0/search", params=params)
        _expect(r.status_code == 200, f"HTTP {r.status_code} for ?{urllib.parse.urlencode(params)}")
        _expect(r.headers.get("content-type", "").split(";")[0].strip() == "application/json",
                f"content type {r.headers.get('content-type')}, expected application/json")
        _expect(len(r.content) <= MAX_RESPONSE_BYTES, f"{len(r.content)} bytes, more than {MAX_RESPONSE_BYTES}")
        body = strict_loads(r.content, max_bytes=MAX_RESPONSE_BYTES, max_depth=32)
        _expect(isinstance(body, dict) and isinstance(body.get("results"), list)
                and isinstance(body.get("truncated"), bool), "not {results: [], truncated: bool}")
        results = body["results"]
        _expect(len(results) <= min(query.limit, MAX_RESULTS_PER_PEER),
                f"{len(results)} results for limit {query.limit}")
        tracks = [verify_track(t) for t in results]
        off = [t.id for t in tracks if match(query, t.record) is None]
        _expect(not off, f"records that do not match the query: {off[:2]}")
        return query, tracks, body["truncated"]

    def search(self) -> str:
        """A word of a listed track's title (or a word no title has) finds only matching,
        verified records, and finds the track itself unless the answer is truncated."""
        track = self.tracks[0] if self.tracks else None
        words = title_words(str(track.record.get("title", ""))) if track else []
        params = [("q", words[0] if words else "zzconformanceqq"), ("limit", "50")]
        _, found, truncated = self._search(params)
        if track is not None and words:
            _expect(truncated or track.id in {t.id for t in found}, f"{track.id[-8:]} not found by {words[0]!r}")
        if track is not None:
            _, by_artist, _ = self._search([("artist", track.record["artist"]), ("limit", "5")])
            _expect(bool(by_artist), "nothing found by the listed track's artist")
        _, none, _ = self._search([("q", "zzconformanceqq")])
        _expect(not none, "records found for a word no title has")
        return f"{len(found)} verified, matching results for {params[0][1]!r}"

    def search_limit(self) -> str:
        track = self.tracks[0] if self.tracks else None
        params = [("artist", track.record["artist"])] if track else [("q", "zzconformanceqq")]
        _, found, _ = self._search([*params, ("limit", "1")])
        return f"limit=1 gave {len(found)} result(s)"

    def search_bad_params(self) -> str:
        bad: list[list[tuple[str, str]]] = [[], [("q", "the")], [("q", "x1"), ("limit", "0")],
                                            [("q", "x1"), ("limit", "51")], [("q", "x1"), ("limit", "abc")],
                                            [("q", "x1"), ("q", "x2")], [("artist", "did:example:nobody")]]
        for params in bad:
            r = self.get("/osp/v0/search", params=params)
            _expect(r.status_code == 400, f"HTTP {r.status_code} for ?{urllib.parse.urlencode(params)}, expected 400")
        return f"{len(bad)} bad queries answered 400"

    def social(self) -> str:
        """``GET /osp/v0/tracks/{id}/social`` (§10.5) for a listed track (or an unknown id):
        the agreed shape and caps, every record verified and about that track; a bad id 400."""
        track_id = self.tracks[0].id if self.tracks else UNKNOWN_TRACK
        r = self.get(f"/osp/v0/tracks/{track_id}/social")
        _expect(r.status_code == 200, f"HTTP {r.status_code}")
        _expect(len(r.content) <= MAX_ANSWER_BYTES, f"{len(r.content)} bytes, more than {MAX_ANSWER_BYTES}")
        body = strict_loads(r.content, max_bytes=MAX_ANSWER_BYTES, max_depth=32)
        _expect(isinstance(body, dict) and isinstance(body.get("truncated"), bool), "not {records: [], truncated: bool}")
        records = parse_answer(body)  # IntegrityError: not the shape, or over 200 records
        verified = [verify_social(record) for record in records]
        off = [v.id for v in verified if not on_topic(v.kind, v.subject, track_id)]
        _expect(not off, f"records not about the track: {off[:2]}")
        bad = self.get("/osp/v0/tracks/not-a-track/social")
        _expect(bad.status_code == 400, f"a bad track id answered HTTP {bad.status_code}, expected 400")
        return f"{len(verified)} verified records about …{track_id[-8:]}; a bad id 400"

    def run(self) -> list[Check]:
        self.check("node info", "§8.1", self.node_info)
        self.check("peer response headers", "§8", self.peer_headers)
        self.check("read-only peer API", "§8", self.read_only)
        self.check("unknown track is 404", "§8.2", self.unknown_record)
        if self.check("track listing", "§8.2", self.listing):
            for track in self.tracks:
                short = track.id[-8:]
                for name, section, fn in (
                    ("record", "§8.2, §4-§6", self.record),
                    ("torrent", "§7, §8.2", self.torrent),
                    ("raw block", "§8.3", self.raw_block),
                    ("CAR", "§8.3", self.car),
                    ("block-by-block file", "§8.3", self.blockwise),
                    ("file bytes with Range", "§8.3", self.file_range),
                ):
                    self.check(f"{name} …{short}", section, functools.partial(fn, track))
        self.check("social records of a track", "§10.5", self.social)
        self.check("search", "§9.3", self.search)
        self.check("search limit", "§9.3", self.search_limit)
        self.check("search bad parameters", "§9.3", self.search_bad_params)
        self.client.close()
        return self.results


def run_conformance(base_url: str, *, max_tracks: int = 3, timeout: float = 15.0) -> list[Check]:
    """All checks against the node at ``base_url``."""
    return Conformance(base_url, timeout=timeout, max_tracks=max_tracks).run()
