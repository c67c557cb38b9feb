"""Hostile ``--peer`` nodes among honest ones (``node.ask``): a node that answers the genuine
signed record (records are public: anyone can copy one) but another torrent must not stop
the fetch while another named node has the right one."""

from __future__ import annotations

from pathlib import Path

from osp.core.settings import Settings
from osp.node import Node, TrackMetadata
from tests.integration.nodes import node_server
from tests.interop.fakes import free_port, osp_peer

HONEST_IP, HOSTILE_IP, FETCHER_IP = "127.0.0.91", "127.0.0.92", "127.0.0.93"


def test_a_peer_lying_about_the_torrent_is_skipped_for_the_next_one(tmp_path: Path, music: list[Path]) -> None:
    with node_server(tmp_path / "a", HONEST_IP) as a:
        wanted = a.node.publish(music[0], TrackMetadata(title="Wanted"))
        other = a.node.publish(music[1], TrackMetadata(title="Other"))
        with osp_peer(HOSTILE_IP, wanted.track.record, other.metainfo, free_port(HOSTILE_IP)) as liar:
            b = Node(Settings(data_dir=tmp_path / "b", listen=(FETCHER_IP, 0), http=(FETCHER_IP, 0),
                              control=("127.0.0.1", 0), dht=False, allow_private_peers=True, request_deadline=10.0))
            try:
                # the liar first: the record comes from it (genuine), its torrent is another track's
                state = b.fetch(wanted.track.id, [liar, a.peer_url], stall_timeout=30).wait(60)
                assert state.state == "complete", state
                assert state.infohash == wanted.infohash
            finally:
                b.close()


SLOW_IP = "127.0.0.94"


def test_a_first_peer_that_refuses_the_record_and_drips_its_address_holds_up_nothing(
        tmp_path: Path, music: list[Path]) -> None:
    """Named first, a node that refuses the record (404) and answers ``/osp/v0/node`` one byte
    a second: the record comes from the next node, and the fetch starts long before that
    node's request deadline (the slow address would be dialled whenever it came)."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    stop = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path != "/osp/v0/node":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(60):
                if stop.wait(1.0):
                    return
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, *args: object) -> None:
            pass

    port = free_port(SLOW_IP)
    server = ThreadingHTTPServer((SLOW_IP, port), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with node_server(tmp_path / "a", HONEST_IP) as a:
            wanted = a.node.publish(music[0], TrackMetadata(title="Wanted"))
            b = Node(Settings(data_dir=tmp_path / "b", listen=(FETCHER_IP, 0), http=(FETCHER_IP, 0),
                              control=("127.0.0.1", 0), dht=False, allow_private_peers=True, request_deadline=20.0))
            try:
                started = time.monotonic()
                transfer = b.fetch(wanted.track.id, [f"http://{SLOW_IP}:{port}", a.peer_url], stall_timeout=30)
                assert time.monotonic() - started < 10, "the slow node held up the fetch until its deadline"
                assert transfer.wait(60).state == "complete"
            finally:
                b.close()
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
