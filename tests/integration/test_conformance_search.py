"""The ``osp conformance`` checks of the search route (spec §9.3), against a small fake
node that implements the route by the spec, and against fakes that break it."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from osp.apps.conformance import Conformance
from osp.core.errors import CallerError
from osp.discovery.search import MAX_RESULTS_PER_PEER, Query, search_library
from osp.identity import SigningKey
from osp.records import build_track, jcs, sign_track, verify_track
from tests.interop.fakes import serve

KEY = SigningKey.from_seed(bytes(range(32)))
CREATED = "2026-11-21T12:00:00Z"


def signed(title: str, tags: list[str]) -> dict[str, Any]:
    fields = {"title": title, "artist": KEY.did, "duration": 1.5, "format": "audio/ogg",
              "cid": "bafybeigaew57qqg7a6l6dqmpzuxoxeoaooucw4jqpckjgck2ychfb3s6bu", "cidProfile": "unixfs-v1-2025",
              "size": 10, "torrent": "magnet:?xt=urn:btih:e2cd89086f5ab88ee0e14d391536a9811995ab87",
              "released": "2026-11-21", "license": "CC0-1.0", "tags": tags}
    return sign_track(build_track(fields), KEY, CREATED)


RECORDS = [signed("Glacier Drift", ["ambient"]), signed("Volcano Dub", ["dub"]), signed("Glacier Night", ["ambient"])]

Tamper = Callable[[Query | None, list[dict[str, Any]]], tuple[int, list[dict[str, Any]]]]


def search_routes(tamper: Tamper | None = None) -> Callable[[str], tuple[int, str, bytes]]:
    """A peer API with only ``/osp/v0/search``, done by the spec; ``tamper`` rewrites answers."""

    def routes(path: str) -> tuple[int, str, bytes]:
        url = urllib.parse.urlsplit(path)
        if url.path != "/osp/v0/search":
            return 404, "text/plain", b""
        query: Query | None
        try:
            query = Query.from_params(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        except CallerError:
            query = None
        hits = [r for _, r, _ in search_library(query, [(r, jcs(r)) for r in RECORDS])] if query else []
        status = 200 if query else 400
        if tamper:
            status, hits = tamper(query, hits)
        limit = min(query.limit, MAX_RESULTS_PER_PEER) if query else 0
        body = {"results": hits[:limit] if tamper is None else hits, "truncated": len(hits) > limit}
        return status, "application/json", json.dumps(body).encode()

    return routes


def run_search_checks(url: str) -> dict[str, tuple[bool, str]]:
    conf = Conformance(url)
    conf.tracks = [verify_track(RECORDS[0])]
    conf.check("search", "§9.3", conf.search)
    conf.check("search limit", "§9.3", conf.search_limit)
    conf.check("search bad parameters", "§9.3", conf.search_bad_params)
    conf.client.close()
    return {c.name: (c.ok, c.detail) for c in conf.results}


def test_a_node_that_follows_the_spec_passes() -> None:
    with serve("127.0.0.32", search_routes()) as url:
        results = run_search_checks(url)
    assert all(ok for ok, _ in results.values()), results


@pytest.mark.parametrize(("tamper", "failing", "detail"), [
    (lambda q, hits: (200, [*hits, RECORDS[1]]), "search", "do not match the query"),  # off-topic record
    (lambda q, hits: (200, [{**h, "title": "Glacier Forged"} for h in hits]), "search", "does not match its content"),
    (lambda q, hits: (200, RECORDS[:1] + RECORDS[2:]), "search limit", "2 results for limit 1"),  # ignores limit
    (lambda q, hits: (200, hits), "search bad parameters", "expected 400"),  # accepts bad queries
    (lambda q, hits: (200, []), "search", "not found"),  # finds nothing
], ids=["off-topic", "forged", "limit", "bad-params", "empty"])
def test_a_node_that_breaks_the_route_fails_named_checks(tamper: Tamper, failing: str, detail: str) -> None:
    with serve("127.0.0.32", search_routes(tamper)) as url:
        results = run_search_checks(url)
    ok, got = results[failing]
    assert not ok and detail in got, results
