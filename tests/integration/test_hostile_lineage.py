"""``GET /api/tracks/{id}/lineage`` when the lookups stall (peers that never answer, here
held by the test): at most ``MAX_WALKS`` walks hold a worker thread at once, the next one
is answered 503 ``busy`` with ``Retry-After`` at once, and the held walks still finish.
A real node with its control listener on 127.0.0.N."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from osp.apps.web.lineage_api import MAX_WALKS
from tests.integration.nodes import node_server
from tests.unit.provenance.test_lineage import tid


def test_walks_beyond_the_cap_are_refused_at_once_and_the_held_ones_finish(tmp_path: Path) -> None:
    with node_server(tmp_path / "n", "127.0.0.172") as srv:
        node = srv.node
        release, entered = threading.Event(), threading.Semaphore(0)
        real = node.local_track

        def stalled(track_id: str) -> Any:  # a lookup that waits, as one held by a silent peer would
            entered.release()
            release.wait(30)
            return real(track_id)

        node.local_track = stalled  # type: ignore[method-assign]
        headers = {"Authorization": f"Bearer {srv.token}"}

        def get(i: int) -> httpx.Response:
            return httpx.get(f"{srv.control_url}/api/tracks/{tid(f'walk {i}')}/lineage?depth=1&timeout=20",
                             headers=headers, timeout=60)

        with ThreadPoolExecutor(MAX_WALKS) as pool:
            held = [pool.submit(get, i) for i in range(MAX_WALKS)]
            for _ in range(MAX_WALKS):
                assert entered.acquire(timeout=20), "a walk did not start"
            started = time.monotonic()
            refused = get(MAX_WALKS)
            assert time.monotonic() - started < 5
            assert refused.status_code == 503 and refused.json()["error"] == "busy", refused.text
            assert int(refused.headers["retry-after"]) >= 1
            release.set()
            answers = [f.result(timeout=60) for f in held]
        assert [a.status_code for a in answers] == [200] * MAX_WALKS
        assert all(a.json()["status"] == "unknown" for a in answers)
        assert get(0).status_code == 200  # the gate is free again
