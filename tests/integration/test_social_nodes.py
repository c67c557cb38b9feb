"""Social records between real nodes on a private DHT (spec §10, issue 11): three in-process
nodes A, B, C on 127.0.0.3N plus bare DHT engines.

B follows A.  A's playlist reaches B through A's feed and is replaced there by its next
version; A's comment on a track is found by C (who follows nobody) through the track's
rendezvous key; A's tombstone removes the comment on B (feed) and C (lookup); forged,
replayed, off-topic and older records are refused.  The tests share one network and run in
order.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.content.cid import CID, JSON
from osp.core.errors import IntegrityError
from osp.discovery.keys import rendezvous_key
from osp.distribution.engine import Engine
from osp.distribution.events import EngineConfig
from osp.identity import SigningKey
from osp.library.playlists import Playlists
from osp.node import Node, feeds
from osp.records.social import build_social, sign_social, verify_social
from tests.integration.nodes import node_server

FILLERS = 4  #: bare DHT engines besides the three nodes
TRACK = f"osp:track:{CID.of(b'social-nodes track', codec=JSON)}"
OTHER = [f"osp:track:{CID.of(bytes([i]), codec=JSON)}" for i in range(4)]


def wait_for(what: str, check: Callable[[], Any], deadline: float = 40.0) -> Any:
    """Poll ``check`` every 0.1 s until it returns something truthy; fail past ``deadline`` s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def dht_node(data_dir: Path, ip: str, bootstrap: list[tuple[str, int]]) -> Iterator[NodeServer]:
    with node_server(data_dir, ip, dht=True, bootstrap=tuple(bootstrap), feed_poll_interval=1.0, track_jobs=False) as srv:
        yield srv


@dataclass
class Net:
    a: Node
    b: Node
    c: Node
    a_http: str
    timings: dict[str, float]
    fillers: list[Engine]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    tmp = tmp_path_factory.mktemp("social")
    with pytest.MonkeyPatch.context() as mp, contextlib.ExitStack() as stack:
        mp.setattr(feeds, "REPUT_RETRY", 1.0)
        fillers: list[Engine] = []
        for i in range(FILLERS):
            known = [(f"127.0.0.{51 + j}", e.listen_port) for j, e in enumerate(fillers)]
            engine = Engine(EngineConfig(listen=(f"127.0.0.{51 + i}", 0), dht=True, bootstrap=tuple(known),
                                         local_network=True))
            stack.callback(engine.close)
            fillers.append(engine)
        boot = [(f"127.0.0.{51 + i}", e.listen_port) for i, e in enumerate(fillers)]
        a = stack.enter_context(dht_node(tmp / "a", "127.0.0.31", boot))
        b = stack.enter_context(dht_node(tmp / "b", "127.0.0.32", boot))
        c = stack.enter_context(dht_node(tmp / "c", "127.0.0.33", boot))
        feeds.follow(b.node, a.node.signing_key().did)
        yield Net(a.node, b.node, c.node, str(a.node.http_url), {}, fillers)


def playlist_seq(node: Node, author: str, series: str) -> int | None:
    for row in node.social.records.playlists(author=author):
        if row.playlist == series:
            return int(row.seq)
    return None


def test_a_playlist_reaches_a_follower_and_updates_when_edited(net: Net) -> None:
    a, b = net.a, net.b
    did = a.signing_key().did
    local = Playlists(a.library).create("Night drive", [OTHER[0], OTHER[1], OTHER[0]], a.clock())
    started = time.monotonic()
    first = a.social.publish_playlist(local.id)
    assert first["seq"] == 1 and first["playlist"] == local.id and first["tracks"] == [OTHER[0], OTHER[1], OTHER[0]]
    wait_for("B to hold version 1", lambda: playlist_seq(b, did, local.id) == 1)
    net.timings["playlist v1 → follower"] = time.monotonic() - started
    print(f"playlist v1 on A → on follower B: {net.timings['playlist v1 → follower']:.2f} s")

    Playlists(a.library).replace(local.id, a.clock(), name="Night drive (edit)", tracks=[OTHER[2], OTHER[0]])
    started = time.monotonic()
    second = a.social.publish_playlist(local.id)
    assert second["seq"] == 2
    wait_for("B to hold version 2", lambda: playlist_seq(b, did, local.id) == 2)
    print(f"playlist v2 on A → on follower B: {time.monotonic() - started:.2f} s")
    newest = [r for r in b.social.records.playlists(author=did) if r.playlist == local.id]
    assert len(newest) == 1
    assert verify_social(newest[0].record).record["tracks"] == [OTHER[2], OTHER[0]]
    assert verify_social(newest[0].record).record["title"] == "Night drive (edit)"
    # the older version, replayed to B by anyone: refused, the newest stays
    assert b.social.ingest([first], source="http://127.0.0.99:1") == 0
    assert playlist_seq(b, did, local.id) == 2


def test_a_retraction_reaches_a_follower_holding_only_an_older_version(net: Net,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """B holds v1; A publishes v2 and retracts it before B polls again: A's catalog holds
    the tombstone, not v2, and the tombstone's series and seq (spec §10.2 rule 3) end v1 on B."""
    a, b = net.a, net.b
    did = a.signing_key().did
    local = Playlists(a.library).create("Gone soon", [OTHER[3]], a.clock())
    a.social.publish_playlist(local.id)
    wait_for("B to hold version 1", lambda: playlist_seq(b, did, local.id) == 1)
    publish_soon = a.feeds.publish_soon
    monkeypatch.setattr(a.feeds, "publish_soon", lambda: None)  # no catalog between v2 and its retraction
    second = a.social.publish_playlist(local.id)
    tombstone = a.social.create("tombstone", {"subject": second["id"]})
    assert (tombstone["playlist"], tombstone["seq"]) == (local.id, 2)
    monkeypatch.undo()
    assert b.social.records.get(second["id"]) is None
    started = time.monotonic()
    publish_soon()
    wait_for("B to drop version 1", lambda: playlist_seq(b, did, local.id) is None)
    print(f"retraction of v2 on A → v1 gone on follower B: {time.monotonic() - started:.2f} s")
    assert b.social.records.is_tombstoned(second["id"], did)
    assert b.social.ingest([second], source="http://127.0.0.99:1") == 0  # v2 itself: refused too


def test_a_comment_is_found_by_a_third_node_through_the_tracks_key(net: Net) -> None:
    a, c = net.a, net.c
    comment = a.social.create("comment", {"subject": TRACK, "text": "the bridge at 1:05 is lovely", "at": 65})
    a.social.create("like", {"subject": TRACK})
    assert TRACK in a.social.announced_tracks()
    # the route serves it at once
    answer = httpx.get(f"{net.a_http}/osp/v0/tracks/{TRACK}/social", timeout=10).json()
    assert comment["id"] in {r["id"] for r in answer["records"]} and answer["truncated"] is False
    started = time.monotonic()
    attempts = []

    def found() -> bool:
        t0 = time.monotonic()
        added = c.social.lookup(TRACK, timeout=5)
        attempts.append(time.monotonic() - t0)
        return added > 0 or any(r["id"] == comment["id"] for r in c.social.about(TRACK))

    wait_for("C to find A's comment through the track's key", found, 45)
    print(f"comment on A → found by C: {time.monotonic() - started:.2f} s ({len(attempts)} lookups, "
          f"last {attempts[-1]:.2f} s)")
    held = {r["id"]: r for r in c.social.about(TRACK)}
    assert held[comment["id"]]["text"] == "the bridge at 1:05 is lovely"
    assert {r["type"] for r in held.values()} == {"osp:Comment", "osp:Like"}
    t0 = time.monotonic()
    assert c.social.lookup(TRACK, timeout=5) == 0  # the same records again: nothing new
    print(f"a lookup of known records: {time.monotonic() - t0:.2f} s")


def test_a_tombstone_removes_the_comment_on_the_follower_and_the_third_node(net: Net) -> None:
    a, b, c = net.a, net.b, net.c
    comment = next(r for r in a.social.about(TRACK) if r["type"] == "osp:Comment")
    wait_for("B to hold the comment (A's feed)", lambda: any(r["id"] == comment["id"] for r in b.social.about(TRACK)))
    tombstone = a.social.create("tombstone", {"subject": comment["id"]})
    assert all(r["id"] != comment["id"] for r in a.social.about(TRACK))
    started = time.monotonic()
    wait_for("the comment to leave B", lambda: all(r["id"] != comment["id"] for r in b.social.about(TRACK)))
    print(f"tombstone on A → comment gone on B: {time.monotonic() - started:.2f} s")

    def gone_on_c() -> bool:
        c.social.lookup(TRACK, timeout=5)
        return all(r["id"] != comment["id"] for r in c.social.about(TRACK))

    wait_for("the comment to leave C", gone_on_c, 30)
    # the comment received again later is refused everywhere it was retracted
    assert b.social.ingest([comment], source="http://127.0.0.99:1") == 0
    assert c.social.ingest([comment], source="http://127.0.0.99:2") == 0
    assert all(r["id"] != comment["id"] for r in c.social.about(TRACK))
    answer = httpx.get(f"{net.a_http}/osp/v0/tracks/{TRACK}/social", timeout=10).json()
    assert tombstone["id"] in {r["id"] for r in answer["records"]}
    assert comment["id"] not in {r["id"] for r in answer["records"]}


def test_forged_off_topic_and_oversized_answers_are_refused(net: Net) -> None:
    c = net.c
    key = SigningKey.generate()
    good = sign_social(build_social("comment", key.did, {"subject": TRACK, "text": "fine"}), key,
                       "2026-12-01T10:00:00Z")
    forged = dict(good, text="changed after signing")
    with pytest.raises(IntegrityError):
        c.social.ingest([good, forged], source="http://127.0.0.98:1")
    assert all(r["id"] != good["id"] for r in c.social.about(TRACK))  # nothing of a bad batch is stored
    off = sign_social(build_social("comment", key.did, {"subject": OTHER[3], "text": "elsewhere"}), key,
                      "2026-12-01T10:00:00Z")
    with pytest.raises(IntegrityError) as exc:
        c.social.take_answer(TRACK, {"records": [good, off], "truncated": False}, source="http://127.0.0.98:2")
    assert exc.value.context["check"] == "off-topic"
    with pytest.raises(IntegrityError) as exc:
        c.social.take_answer(TRACK, {"records": [good] * 201}, source="http://127.0.0.98:3")
    assert exc.value.context["check"] == "size"
    assert c.social.take_answer(TRACK, {"records": [good], "truncated": False}, source="http://127.0.0.98:4") == 1
    assert c.social.ingest([good], source="http://127.0.0.98:4") == 0  # replayed: already held
    # a peer sending more than its budget per minute: the rest is dropped unread
    c.social.budget = type(c.social.budget)(rate=2)
    many = [sign_social(build_social("like", k.did, {"subject": TRACK}), k, "2026-12-01T10:00:00Z")
            for k in (SigningKey.generate() for _ in range(5))]
    assert c.social.ingest(many, source="http://127.0.0.98:5") == 2


def test_the_peer_route_checks_its_input(net: Net) -> None:
    bad = httpx.get(f"{net.a_http}/osp/v0/tracks/not-a-track/social", timeout=10)
    assert bad.status_code == 400 and bad.headers["content-security-policy"] == "sandbox"
    empty = httpx.get(f"{net.a_http}/osp/v0/tracks/{OTHER[3]}/social", timeout=10)
    assert empty.status_code == 200 and empty.json() == {"records": [], "truncated": False}
    assert httpx.post(f"{net.a_http}/osp/v0/tracks/{TRACK}/social", timeout=10).status_code == 405


@contextlib.contextmanager
def hostile_holder(ip: str, body: bytes) -> Iterator[int]:
    """An HTTP server on ``ip`` answering every GET with ``body`` (JSON); yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((ip, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("hostile", ["forged", "oversized"])
def test_a_hostile_holder_under_the_tracks_key_is_dropped(net: Net, hostile: str) -> None:
    """A DHT node announces an HTTP server under the track's key that answers a forged copy
    of A's comment (or 600 KiB): C keeps A's genuine comment only and marks the liar bad."""
    a, c = net.a, net.c
    track = f"osp:track:{CID.of(hostile.encode(), codec=JSON)}"
    genuine = a.social.create("comment", {"subject": track, "text": "the real words"})
    forged = dict(genuine, text="words A never wrote")
    body = (json.dumps({"records": [forged], "truncated": False}).encode() if hostile == "forged"
            else b'{"records":[' + b" " * (600 * 1024) + b"]}")
    n = 0 if hostile == "forged" else 1  # a filler engine each: bad peers are remembered by host
    liar_ip = f"127.0.0.{51 + n}"  # the filler's address: its announce names this host
    assert not c.bad_peers.is_bad(f"http://{liar_ip}:1")
    with hostile_holder(liar_ip, body) as port:
        net.fillers[n].dht_announce(rendezvous_key("track", track).digest, port)
        liar = f"http://{liar_ip}:{port}"

        def settled() -> bool:
            c.social.lookup(track, timeout=5)
            return c.bad_peers.is_bad(liar) and any(r["id"] == genuine["id"] for r in c.social.about(track))

        wait_for("C to drop the liar and keep A's comment", settled, 45)
    (held,) = c.social.about(track)
    assert held["text"] == "the real words"
    reason = c.bad_peers.reason(liar)
    assert reason is not None and ("512" in reason or "524288" in reason if hostile == "oversized" else "id" in reason
                                   or "proof" in reason or "signature" in reason), reason
