"""The verified HTTP fallback: fetch a track from any IPFS trustless gateway.

Every block is checked against its CID as it arrives (``GatewayClient``); the same pass
recomputes the DAG with the record's profile and the torrent's piece hashes, so the
stored file is known to be the record's ``cid`` and the rebuilt torrent must have the
record's infohash (``btih``; ``btmh`` too for hybrid) before the node seeds it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from osp.content.cid import CID
from osp.core.errors import IntegrityError
from osp.distribution.engine import make_hybrid_torrent, make_v1_torrent, parse_metainfo
from osp.distribution.gateway_client import GatewayClient
from osp.distribution.magnet import parse_magnet
from osp.distribution.peer_client import DEFAULT_DEADLINE
from osp.library.store import Library
from osp.node.publish import STAGING_PREFIX, ImportSink, file_name, place_verified
from osp.records.track import VerifiedTrack


def fetch_from_gateway(track: VerifiedTrack, gateway: str, *, library: Library, media_dir: Path,
                       allow_private: bool = False, deadline: float = DEFAULT_DEADLINE) -> tuple[str, bytes]:
    """Download, verify and store ``track`` from ``gateway``; returns ``(infohash, metainfo)``.

    ``allow_private`` lets the egress guard reach a loopback/LAN gateway; ``deadline``
    bounds each block request in seconds.  Raises ``IntegrityError`` (bad block, wrong
    size, profile or infohash mismatch), ``PeerError`` (gateway unreachable, refused by the
    egress guard, or past the deadline), ``RemoteNotFoundError`` (gateway without the content).
    """
    record = track.record
    name = file_name(track)
    media_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=media_dir))
    try:
        staged = staging / name
        with GatewayClient(gateway, allow_private=allow_private, deadline=deadline) as client, open(staged, "wb") as out:
            sink = ImportSink(record["cidProfile"], out, int(record["size"]))
            try:
                client.fetch_file(CID.decode(record["cid"]), sink, int(record["size"]))
                imported = sink.finish(staged)
            finally:
                sink.close()
        if imported.cid != record["cid"]:
            raise IntegrityError(
                f"the file's {record['cidProfile']} CID is {imported.cid}, the record says {record['cid']}", check="cid"
            )
        magnet = parse_magnet(record["torrent"])
        if magnet.infohash_v2:
            metainfo = make_hybrid_torrent(staged)
        else:
            metainfo = make_v1_torrent(name, imported.size, imported.piece_hashes)
        mi = parse_metainfo(metainfo)
        if mi.infohash != magnet.infohash or (magnet.infohash_v2 and mi.infohash_v2 != magnet.infohash_v2):
            raise IntegrityError(
                f"the verified bytes make torrent {mi.infohash}, the record says {magnet.infohash}", check="infohash"
            )
        row = place_verified(library, media_dir, staged, record["cid"], imported.size, record["cidProfile"])
        library.add_track(track, file=row, blocks=imported.blocks, infohash=mi.infohash, metainfo=metainfo,
                          origin="fetched")
        return mi.infohash, metainfo
    finally:
        shutil.rmtree(staging, ignore_errors=True)
