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
