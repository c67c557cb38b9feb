"""Both HTTP listeners of a real node (in-process, loopback): the peer API and trustless
gateway, and the control API's guards (token, Host, Origin, JSON only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.content.car import read_car
from osp.content.cid import CID
from osp.content.dagpb import decode_node
from osp.node import TrackMetadata
from tests.integration.nodes import node_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[NodeServer]:
    with node_server(tmp_path_factory.mktemp("node"), "127.0.0.8", cid_profile="kubo-cidv1-256k-174") as srv:
        srv.node.publish(music[0], TrackMetadata(title="Intro", tags=("game",)))
        yield srv


def first_track(srv: NodeServer) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{srv.peer_url}/osp/v0/tracks").json()["tracks"][0]  # type: ignore[no-any-return]


def test_peer_api_lists_and_serves_records(server: NodeServer) -> None:
    listing = httpx.get(f"{server.peer_url}/osp/v0/tracks").json()
    assert listing["total"] == 1
    record = listing["tracks"][0]
    one = httpx.get(f"{server.peer_url}/osp/v0/tracks/{record['id']}")
    assert one.status_code == 200 and one.json() == record
    assert one.headers["content-security-policy"] == "sandbox" and one.headers["x-content-type-options"] == "nosniff"
    by_hash = httpx.get(f"{server.peer_url}/osp/v0/tracks", params={"infohash": record["torrent"][20:60]}).json()
    assert [t["id"] for t in by_hash["tracks"]] == [record["id"]]
    assert httpx.get(f"{server.peer_url}/osp/v0/tracks/osp:track:nope").status_code == 404
    assert httpx.post(f"{server.peer_url}/osp/v0/tracks").status_code == 405
    huge = httpx.get(f"{server.peer_url}/osp/v0/tracks", params={"offset": "9" * 25, "limit": "9" * 25})
    assert huge.status_code == 200 and huge.json()["tracks"] == [], huge.text  # was a 500 (SQLite overflow)
    node = httpx.get(f"{server.peer_url}/osp/v0/node").json()
    assert node["protocol"] == "osp/0.1" and node["bittorrent"]["port"] > 0


def test_torrent_carries_the_web_seed(server: NodeServer) -> None:
    from osp.distribution.engine import parse_metainfo

    record = first_track(server)
    mi = parse_metainfo(httpx.get(f"{server.peer_url}/osp/v0/tracks/{record['id']}/torrent").content)
    assert mi.web_seeds == (f"{server.peer_url}/ipfs/{record['cid']}",)
    assert mi.infohash in record["torrent"]


def test_gateway_raw_blocks_and_car_verify(server: NodeServer, music: list[Path]) -> None:
    record = first_track(server)
    root = CID.decode(record["cid"])
    raw = httpx.get(f"{server.peer_url}/ipfs/{root}?format=raw")
    assert raw.headers["content-type"] == "application/vnd.ipld.raw" and root.verify(raw.content)
    _, links = decode_node(raw.content)
    leaf = httpx.get(f"{server.peer_url}/ipfs/{links[0].cid}", headers={"Accept": "application/vnd.ipld.raw"})
    assert links[0].cid.verify(leaf.content) and leaf.content == music[0].read_bytes()[: len(leaf.content)]
    car = httpx.get(f"{server.peer_url}/ipfs/{root}?format=car")
    assert car.headers["content-type"].startswith("application/vnd.ipld.car")
    _, sections = read_car(car.content)
    blocks = list(sections)
    assert blocks[0][0] == root and all(cid.verify(data) for cid, data in blocks)
    assert b"".join(d for c, d in blocks if c.codec == 0x55) == music[0].read_bytes()


def test_gateway_file_bytes_ranges_and_cors(server: NodeServer, music: list[Path]) -> None:
    record = first_track(server)
    url = f"{server.peer_url}/ipfs/{record['cid']}"
    data = music[0].read_bytes()
    assert httpx.get(url).content == data
    assert httpx.get(url, headers={"Range": "bytes=-10"}).content == data[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    head = httpx.head(url)
    assert head.headers["content-length"] == str(len(data)) and head.headers["accept-ranges"] == "bytes"
    pre = httpx.request("OPTIONS", url, headers={"Origin": "http://web.example", "Access-Control-Request-Headers": "range"})
    assert pre.status_code == 204 and "Range" in pre.headers["access-control-allow-headers"]
    assert httpx.get(f"{server.peer_url}/ipfs/not-a-cid").status_code == 404
    assert httpx.get(f"{server.peer_url}/ipfs/{CID.of(b'absent')}").status_code == 404


def test_control_api_guards(server: NodeServer) -> None:
    url = f"{server.control_url}/api/tracks"
    auth = {"Authorization": f"Bearer {server.token}"}
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url, headers=auth).status_code == 200
    port = server.control_url.rsplit(":", 1)[1]
    assert httpx.get(url, headers={**auth, "Host": f"evil.example:{port}"}).status_code == 403
    assert httpx.get(url, headers={**auth, "Host": "127.0.0.1:1"}).status_code == 403
    assert httpx.get(url, headers={**auth, "Origin": "http://evil.example"}).status_code == 403
    bad = httpx.post(f"{server.control_url}/api/resolve", headers={**auth, "Content-Type": "text/plain"}, content=b"{}")
    assert bad.status_code == 415
    # the peer listener never exposes control routes
    assert httpx.get(f"{server.peer_url}/api/tracks", headers=auth).status_code == 404


def test_stream_serves_ranges_with_a_stream_credential(server: NodeServer, music: list[Path]) -> None:
    record = first_track(server)
    url = f"{server.control_url}/stream/{record['id']}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"token": server.token}).status_code == 401  # the token never goes in a URL
    issued = httpx.post(f"{server.control_url}/api/stream-url", json={"track": record["id"]},
                        headers={"Authorization": f"Bearer {server.token}"}).json()
    r = httpx.get(f"{server.control_url}{issued['url']}", headers={"Range": "bytes=0-262143"})
    assert r.status_code == 206 and r.content == music[0].read_bytes()[:262144]
    assert r.headers["content-type"] == "audio/ogg"


def test_publish_through_control_api_refuses_non_audio(server: NodeServer, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"<html>not audio</html>" * 100)
    r = httpx.post(f"{server.control_url}/api/publish", json={"paths": [str(junk)]},
                   headers={"Authorization": f"Bearer {server.token}"})
    assert r.status_code == 415 and r.json()["error"] == "unsupported-media"
    assert httpx.get(f"{server.peer_url}/osp/v0/tracks").json()["total"] == 1
