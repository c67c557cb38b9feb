"""Peers find each other through the seeder: peer exchange (BEP 11, libtorrent's ut_pex),
with real nodes on loopback (issue 7, "Listeners seed what they play").

A publishes and seeds; B fetches from A and seeds on; C fetches from A only (``--peer A``)
and ends up connected to B, which uploads to it.  What makes this work: A keeps the
finished B connected (``close_redundant_connections`` off: PEX names only connected
peers).  A's uploads are capped so that C is still downloading when PEX introduces it to B.

B and C listen on 127.0.0.1 (ports of their own), like hosts with one address each: PEX
gives a peer's source address with its listen port, and libtorrent dials from the address
the OS picks (127.0.0.1 on loopback), not from the address it listens on.
"""

from __future__ import annotations

import time
from pathlib import Path

from osp.node import TrackMetadata
from tests.integration.nodes import node_server

A_UPLOAD = 300_000  # bytes/s: C alone would need ~8 s for the 2.3 MB track; PEX takes ~1-3 s


def test_pex_introduces_a_listener_to_an_earlier_listener(tmp_path: Path, music: list[Path]) -> None:
    with (
        node_server(tmp_path / "a", "127.0.0.2", upload_rate_limit=A_UPLOAD) as a,
        node_server(tmp_path / "b", "127.0.0.1") as b,
        node_server(tmp_path / "c", "127.0.0.1") as c,
    ):
        published = a.node.publish(music[0], TrackMetadata(title="introzik"))
        ih = published.infohash
        assert b.node.fetch(published.track.id, a.peer_url).wait(60).state == "complete"
        assert b.node.engine is not None and c.node.engine is not None and a.node.engine is not None
        assert b.node.engine.has_torrent(ih), "a listener seeds what it fetched"
        deadline = time.monotonic() + 30
        while not a.node.engine.peers(ih):  # the finished B stays connected to A
            assert time.monotonic() < deadline, "A dropped the finished listener B"
            time.sleep(0.05)

        transfer = c.node.fetch(published.track.id, a.peer_url)  # C is told only of A
        met_a = met_b = None
        deadline = time.monotonic() + 60
        while met_b is None and not transfer.done.is_set():
            assert time.monotonic() < deadline
            ips = [p.ip for p in c.node.engine.peers(ih)] if c.node.engine.has_torrent(ih) else []
            now = time.monotonic()
            if met_a is None and "127.0.0.2" in ips:
                met_a = now
            if "127.0.0.1" in ips:  # only B is there
                met_b = now
            time.sleep(0.02)
        assert met_b is not None and met_a is not None, f"C finished ({transfer.state.state}) without meeting B"
        print(f"\nPEX: C met B {met_b - met_a:.2f} s after connecting to A")
        state = transfer.wait(60)
        assert state.state == "complete", state
        between = [p for n in (b, c) for p in n.node.engine.peers(ih) if p.ip == "127.0.0.1"]  # type: ignore[union-attr]
        assert any("pex" in p.sources for p in between), "B and C learned of each other through A (ut_pex)"
        deadline = time.monotonic() + 10  # libtorrent adds up transfer statistics once a second
        while b.node.engine.status(ih).total_uploaded == 0:
            assert time.monotonic() < deadline, "B uploaded to C (A is a seed: B sends it nothing)"
            time.sleep(0.1)
