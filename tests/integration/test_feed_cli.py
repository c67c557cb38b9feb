"""``osp follow`` / ``unfollow`` / ``following``: on the library directly, and through a
running node's control API (``POST /api/follow``, ``DELETE /api/follow/{did}``,
``GET /api/following``)."""

from __future__ import annotations

from pathlib import Path

import httpx

from osp.identity import SigningKey
from tests.integration.nodes import jsonl, osp, start_node

ARTIST = SigningKey.from_seed(bytes(range(32))).did


def test_follow_without_a_node(tmp_path: Path) -> None:
    junk = osp(tmp_path, "follow", "did:key:z6MkNotAKey", check=False)
    assert junk.returncode == 2 and "did:key" in junk.stderr
    done = osp(tmp_path, "follow", ARTIST, "--audio", "--json")
    assert "polled when `osp node` runs" in done.stderr
    rows = jsonl(osp(tmp_path, "following", "--json"))
    assert [(r["did"], r["audio"], r["seq"], r["catalog"], r["tracks"]) for r in rows] == [(ARTIST, True, None, None, 0)]
    assert jsonl(done) == rows  # --json: the follow as `osp following --json` shows it
    assert ARTIST in osp(tmp_path, "following").stdout
    assert jsonl(osp(tmp_path, "unfollow", ARTIST, "--json")) == [{"did": ARTIST, "unfollowed": True}]
    assert jsonl(osp(tmp_path, "following", "--json")) == []
    again = osp(tmp_path, "unfollow", ARTIST, check=False)
    assert again.returncode == 2 and "not following" in again.stderr


def test_follow_through_the_running_node(tmp_path: Path) -> None:
    node = start_node(tmp_path / "n", 2)
    try:
        osp(node.data_dir, "follow", ARTIST)
        api = httpx.Client(base_url=node.control, headers={"Authorization": f"Bearer {node.token}"}, timeout=30)
        listed = api.get("/api/following").json()["following"]
        assert [(f["did"], f["audio"]) for f in listed] == [(ARTIST, False)]
        bad = api.post("/api/follow", json={"did": ARTIST, "audio": "yes"})
        assert bad.status_code == 400
        assert api.post("/api/follow", json={"did": "nope"}).status_code == 400
        assert api.post("/api/follow", json={"did": ARTIST, "audio": True}).json()["audio"] is True
        assert [r["audio"] for r in jsonl(osp(node.data_dir, "following", "--json"))] == [True]
        osp(node.data_dir, "unfollow", ARTIST)
        assert api.get("/api/following").json() == {"following": []}
        assert api.delete(f"/api/follow/{ARTIST}").status_code == 404
    finally:
        node.stop()
