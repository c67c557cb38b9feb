"""Remix lineage over a private DHT of three real ``osp node`` processes (issue 10).

Member 0 (artist A) publishes an original, member 1 (artist B) a remix of it (``--parent``);
member 2, which holds neither, runs ``osp lineage`` through its running node: on the
original it finds B's remix as a child (parent key on the DHT, ``parent=`` search), on the
remix it finds the original as the parent (resolved by id on the DHT).  A hostile peer
announced under the original's parent key answers a record that does not name it: it is
dropped, its record never shows, and the next walk does not ask it again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import need
from tests.integration.dht_cluster import Cluster, Member, free_port, poll

BASE = 60  #: member i on 127.0.<BASE+i>.1, the hostile peer on 127.0.<BASE+3>.1
WALK = "12"  #: seconds one lineage walk may take

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> dict[str, Path]:
    """Two short, distinct Ogg excerpts of real music (ffmpeg)."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    out = tmp_path_factory.mktemp("clips")
    files = {}
    for i, name in enumerate(["original", "remix"]):
        target = out / f"{name}.ogg"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(10 + 9 * i), "-t", "4", "-i", str(music[2]),
                        "-c:a", "libvorbis", "-q:a", "1", str(target)], check=True, timeout=60)
        files[name] = target
    return files


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, clips: dict[str, Path]) -> Iterator[Cluster]:
    # one seed each: libtorrent keeps a node's bootstrap nodes out of its own routing table,
    # so with more seeds three members would never fill each other's tables
    with Cluster(tmp_path_factory.mktemp("lineage"), 3, base=BASE, identities=(0, 1), batch=1, seeds=1) as c:
        c.wait_ready(min_nodes=1, timeout=60)
        yield c


def publish(m: Member, path: Path, title: str, *extra: str) -> dict[str, Any]:
    line = json.loads(m.osp("publish", str(path), "--title", title, "--artist-name", f"artist {m.index}", *extra,
                            "--json").stdout.splitlines()[0])
    assert "id" in line, line
    return line  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def tracks(cluster: Cluster, clips: dict[str, Path]) -> dict[str, dict[str, Any]]:
    original = publish(cluster[0], clips["original"], "Harbour Lights")
    remix = publish(cluster[1], clips["remix"], "Harbour Lights (Night Remix)", "--parent", original["id"])
    return {"original": original, "remix": remix}


def lineage(m: Member, track_id: str) -> dict[str, Any]:
    proc = m.osp("lineage", track_id, "--json", "--timeout", WALK, timeout=60)
    tree = json.loads(proc.stdout)
    assert isinstance(tree, dict)
    return tree


def test_children_and_parents_across_the_dht(cluster: Cluster, tracks: dict[str, dict[str, Any]]) -> None:
    original, remix = tracks["original"]["id"], tracks["remix"]["id"]
    seeker = cluster[2]

    def child_found() -> dict[str, Any] | None:
        tree = lineage(seeker, original)
        return tree if [c["id"] for c in tree["children"]] == [remix] else None

    tree = poll("the remix is found as a child of the original", child_found, 60, 1.0)
    assert tree["status"] == "known" and tree["track"]["title"] == "Harbour Lights" and tree["network"] is True
    child = tree["children"][0]
    assert child["status"] == "known" and child["relation"] == "remix"  # `--parent ID` means a remix
    assert child["track"]["title"] == "Harbour Lights (Night Remix)" and child["track"]["artistName"] == "artist 1"
    assert tree["parents"] == []

    up = poll("the original is found as the remix's parent",
              lambda: (t := lineage(seeker, remix))["parents"] and t["parents"][0]["status"] == "known" and t,
              60, 1.0)
    assert up["status"] == "known" and [p["id"] for p in up["parents"]] == [original]
    assert up["parents"][0]["track"]["artistName"] == "artist 0"
    assert up["children"] == []

    text = seeker.osp("lineage", remix, "--timeout", WALK, timeout=60)
    assert "Harbour Lights (Night Remix)" in text.stdout and "remix of: Harbour Lights — artist 0" in text.stdout, text.stdout
    # the control API answers the same tree
    api = seeker.api("GET", f"/api/tracks/{remix}/lineage?depth=2&timeout={WALK}", timeout=60)
    assert [p["id"] for p in api["parents"]] == [original]


class Hostile:
    """An HTTP server answering ``/osp/v0/search`` with ``body``; records which paths were asked."""

    def __init__(self, ip: str, body: bytes) -> None:
        hits = self.hits = []  # type: list[str]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hits.append(self.path)
                if not self.path.startswith("/osp/v0/search"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((ip, 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_peer_answering_an_off_topic_child_is_dropped(cluster: Cluster, tracks: dict[str, dict[str, Any]]) -> None:
    from osp.discovery.keys import rendezvous_key
    from osp.distribution.engine import Engine
    from osp.distribution.events import EngineConfig

    original, remix = tracks["original"]["id"], tracks["remix"]["id"]
    # a genuine signed record (the original itself) that does not name the original as a parent
    off_topic = httpx.get(f"{cluster[0].http}/osp/v0/tracks/{original}").json()
    body = json.dumps({"results": [off_topic], "truncated": False}).encode()
    ip = f"127.0.{BASE + 3}.1"
    server = Hostile(ip, body)
    engine = Engine(EngineConfig(listen=(ip, free_port(ip)), dht=True,
                                 bootstrap=tuple((m.ip, m.bt_port) for m in cluster), local_network=True))
    key = rendezvous_key("parent", original).digest
    try:
        def asked() -> dict[str, Any] | None:
            engine.dht_announce(key, server.port)
            tree = lineage(cluster[2], original)
            return tree if any(p.startswith("/osp/v0/search") for p in server.hits) else None

        tree = poll("the hostile peer is found under the parent key and asked", asked, 90, 2.0)
        search_hit = next(p for p in server.hits if p.startswith("/osp/v0/search"))
        assert "parent=" in search_hit
        assert [c["id"] for c in tree["children"]] == [remix]  # the off-topic record never shows
        server.hits.clear()
        again = lineage(cluster[2], original)
        assert [c["id"] for c in again["children"]] == [remix]
        assert not [p for p in server.hits if p.startswith("/osp/v0/search")], "a dropped peer was asked again"
    finally:
        server.close()
        engine.close()
