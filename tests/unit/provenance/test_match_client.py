"""The client of ``GET /osp/v0/match`` (spec §9.7) against peers that answer badly: every
record is verified, the answer's shape and size are capped, offsets are made relative to
the whole query."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from osp.core.errors import IntegrityError, PeerError
from osp.identity import SigningKey
from osp.library import Library
from osp.node.fingerprints import MATCH_VALUES
from osp.node.match_peers import MAX_ANSWER, ask_peer, excerpt
from osp.node.publish import TrackMetadata, publish_file
from osp.provenance import fingerprint as fp

KEY = SigningKey.from_seed(bytes(range(3, 35)))


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("rec")
    with Library(tmp / "lib.sqlite3") as lib:
        return publish_file(music[1], TrackMetadata(title="Known"), key=KEY, library=lib,
                            media_dir=tmp / "media").track.record


@pytest.fixture
def peer() -> Iterator[tuple[str, list[str], list[bytes]]]:
    """A fake peer answering the body in ``bodies[0]``; ``asked``: the paths it was asked."""
    asked: list[str] = []
    bodies: list[bytes] = [b"{}"]

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(bodies[0])))
            self.end_headers()
            self.wfile.write(bodies[0])

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked, bodies
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_is_verified_and_offsets_are_relative_to_the_whole_query(
        peer: tuple[str, list[str], list[bytes]], record: dict[str, Any]) -> None:
    url, asked, bodies = peer
    values = np.arange(2000, dtype=np.uint32)
    bodies[0] = json.dumps({"matches": [{"record": record, "offset": 100.0, "overlap": 90.0, "score": 0.9}]}).encode()
    [m] = ask_peer(url, values, allow_private=True, deadline=5)
    sent = fp.decode_param(asked[0].split("fp=", 1)[1], max_values=MATCH_VALUES)
    start = (2000 - MATCH_VALUES) // 2
    assert sent.tolist() == excerpt(values).tolist() == values[start:start + MATCH_VALUES].tolist()
    assert m.track.id == record["id"] and m.offset == round(100.0 - start * fp.ITEM_SECONDS, 2) and m.score == 0.9
    assert m.to_json()["peer"] == url and m.to_json()["title"] == "Known"


@pytest.mark.parametrize("answer", [
    "forged", "too many", "not an object", "bad number", "no record",
])
def test_bad_answers_raise_integrity_errors(peer: tuple[str, list[str], list[bytes]], record: dict[str, Any],
                                           answer: str) -> None:
    url, _asked, bodies = peer
    good = {"record": record, "offset": 1.0, "overlap": 20.0, "score": 0.8}
    body: Any = {
        "forged": {"matches": [good | {"record": record | {"title": "Changed"}}]},
        "too many": {"matches": [good] * 11},
        "not an object": {"matches": "all of them"},
        "bad number": {"matches": [good | {"offset": "1"}]},
        "no record": {"matches": [{"offset": 1.0, "overlap": 20.0, "score": 0.8}]},
    }[answer]
    bodies[0] = json.dumps(body).encode()
    with pytest.raises(IntegrityError):
        ask_peer(url, np.arange(100, dtype=np.uint32), allow_private=True, deadline=5)


def test_an_oversized_answer_is_cut(peer: tuple[str, list[str], list[bytes]]) -> None:
    url, _asked, bodies = peer
    bodies[0] = b'{"matches": [' + b" " * MAX_ANSWER + b"]}"
    with pytest.raises(PeerError, match="larger than"):
        ask_peer(url, np.arange(100, dtype=np.uint32), allow_private=True, deadline=5)
