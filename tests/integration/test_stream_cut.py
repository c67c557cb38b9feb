"""A stream whose transfer ends under it (cancel, removal) is cut short cleanly: the player
sees a short body on a closed connection, the node logs one line, no traceback, and goes on."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from osp.node import TrackMetadata
from tests.integration.nodes import node_server


def test_cancelling_a_transfer_mid_stream_cuts_the_body_without_a_traceback(
        tmp_path: Path, music: list[Path], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with (
        node_server(tmp_path / "a", "127.0.0.71", upload_rate_limit=60_000) as a,  # slow: the stream outlives the cancel
        node_server(tmp_path / "b", "127.0.0.72") as b,
    ):
        published = a.node.publish(music[0], TrackMetadata(title="cut"))
        tid = published.track.id
        auth = {"Authorization": f"Bearer {b.token}"}
        httpx.post(f"{b.control_url}/api/fetch", json={"track": tid, "peer": a.peer_url}, headers=auth,
                   timeout=30).raise_for_status()
        got: list[int] = []
        failure: list[BaseException] = []
        first = threading.Event()

        def play() -> None:
            try:
                with httpx.stream("GET", f"{b.control_url}/stream/{tid}", headers=auth, timeout=30) as r:
                    assert r.status_code == 200
                    for chunk in r.iter_bytes():
                        got.append(len(chunk))
                        first.set()
            except httpx.HTTPError as exc:  # the short body on a closed connection
                failure.append(exc)
            finally:
                first.set()

        player = threading.Thread(target=play)
        player.start()
        assert first.wait(30) and got, "no audio before the cancel"
        httpx.post(f"{b.control_url}/api/cancel", json={"track": tid}, headers=auth, timeout=30).raise_for_status()
        player.join(60)
        assert not player.is_alive()
        assert failure, "the body ended as if whole"
        assert sum(got) < published.track.record["size"]
        assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
        assert any("cut short" in r.getMessage() for r in caplog.records)
        started = time.monotonic()
        assert httpx.get(f"{b.control_url}/api/status", headers=auth, timeout=10).status_code == 200
        assert time.monotonic() - started < 10
