"""``osp status`` and ``GET /api/status`` through a real in-process node (issue 6, Status)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.nodes import jsonl, node_server, osp


def test_status_of_a_running_node(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    data = tmp_path / "data"
    with node_server(data, "127.0.0.1") as srv:
        auth = {"Authorization": f"Bearer {srv.token}"}
        httpx.post(f"{srv.control_url}/api/publish", json={"paths": [str(audio_files["ogg"])]}, headers=auth, timeout=60)
        api = httpx.get(f"{srv.control_url}/api/status", headers=auth).json()
        assert httpx.get(f"{srv.control_url}/api/status").status_code == 401
        (cli,) = jsonl(osp(data, "status", "--json"))
        for status in (api, cli):
            assert status["tracks"] == 1 and status["dht"] is False and status["dataDir"] == str(data)
            assert status["http"] == srv.peer_url and status["control"] == srv.control_url
            assert isinstance(status["bittorrentPort"], int) and status["bittorrentPort"] > 0
            assert status["transfers"] == {"active": 0, "total": 0}
            assert status["uploadRate"] >= 0 and status["downloadRate"] >= 0 and status["uptime"] >= 0
        node_info = httpx.get(f"{srv.control_url}/api/node", headers=auth).json()
        for reach in (api["reachability"], cli["reachability"], node_info["reachability"]):
            assert reach["bittorrentPort"] == status["bittorrentPort"] and reach["bittorrentFallbackFrom"] is None
            assert reach["httpPort"] == int(srv.peer_url.rsplit(":", 1)[1])
            assert reach["portMapping"] == "off" and reach["mappedPort"] is None  # test mode: no UPnP / NAT-PMP
            assert reach["externalAddress"] is None and reach["dhtNodes"] == 0
        text = osp(data, "status").stdout
        assert "port map    off" in text and "external    unknown yet" in text
        assert "running (pid" in text and srv.peer_url in text and "DHT off" in text and str(data) in text
        assert "tracks      1" in text and "0 active" in text


def test_status_without_a_node_says_so(tmp_path: Path) -> None:
    proc = osp(tmp_path / "data", "status", check=False)
    assert proc.returncode == 2 and "no node is running" in proc.stderr and proc.stdout == ""
