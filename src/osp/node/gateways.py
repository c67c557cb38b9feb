"""Extra IPFS gateways the user configured (``Settings.gateways``, ``--gateway``, issue 7).

Two uses, both verified end to end:

* **web seeds** — ``range_seeds`` probes every gateway in parallel with
  ``Range: bytes=0-0`` on ``{gateway}/ipfs/{cid}`` (``range_probe_ok``: 206 with the
  right ``Content-Range`` total) and returns the URLs of those that pass, to add to one
  running transfer (``WebSeeds.add``: never stored in the torrent nor served on
  ``/torrent``).  Every piece is checked against its SHA-1 before the engine gets it, and
  a web seed is dropped at its first corrupt piece; the node checks the CID of the
  finished file.
* **verified HTTP fallback** — ``fetch_from_gateways`` tries the gateways in order through
  the block-by-block path (``gateway_fetch``: each block checked against its CID) when
  BitTorrent cannot start or stalls, and names every gateway that failed and why.

Every request goes through the egress guard (``allow_private``) and its deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from osp.core.errors import IntegrityError, OspError, PeerError
from osp.distribution.gateway_client import GatewayClient
from osp.library.store import Library
from osp.node.fetch import Transfer
from osp.node.gateway_fetch import fetch_from_gateway
from osp.node.publish import web_seed_url
from osp.records.track import VerifiedTrack

if TYPE_CHECKING:
    from osp.distribution.engine import Engine
    from osp.node.core import Node

PROBE_DEADLINE = 5.0  #: seconds one Range probe may take in all


def _probe(gateway: str, cid: str, size: int, allow_private: bool, deadline: float) -> bool:
    try:
        with GatewayClient(gateway, timeout=deadline, deadline=deadline, allow_private=allow_private) as client:
            return client.serves_range(cid, size)
    except OspError:
        return False  # unreachable, refused by the egress guard, past the deadline: not used this time


def range_seeds(gateways: Sequence[str], cid: str, size: int, *, allow_private: bool,
                deadline: float = PROBE_DEADLINE) -> list[str]:
    """Web seed URLs (``{gateway}/ipfs/{cid}``, in ``gateways`` order) of the gateways that
    answer the Range probe for a ``size``-byte file within ``deadline`` seconds; probes run
    in parallel, so the call takes at most about ``deadline``.  Never raises for a gateway
    that fails: it is left out."""
    if not gateways:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(gateways)), thread_name_prefix="osp-gw-probe") as pool:
        results = list(pool.map(lambda g: _probe(g, cid, size, allow_private, deadline), gateways))
    return [web_seed_url(g, cid) for g, ok in zip(gateways, results, strict=True) if ok]


def fetch_from_gateways(track: VerifiedTrack, gateways: Sequence[str], *, library: Library, media_dir: Path,
                        allow_private: bool, deadline: float, why: str) -> tuple[str, bytes]:
    """Fetch ``track`` from the first of ``gateways`` that delivers it verified (block by
    block, ``gateway_fetch.fetch_from_gateway``), store it; returns ``(infohash, metainfo)``.

    ``why`` says why BitTorrent was given up (it starts the error message).  When every
    gateway fails: ``IntegrityError(check="block")`` if every one of them served wrong
    bytes, else ``PeerError``; the message names each gateway and its reason.
    """
    failures: list[str] = []
    integrity = True
    for gateway in gateways:
        try:
            return fetch_from_gateway(track, gateway, library=library, media_dir=media_dir,
                                      allow_private=allow_private, deadline=deadline)
        except OspError as exc:
            integrity = integrity and isinstance(exc, IntegrityError)
            failures.append(f"{gateway}: {exc.message}")
    message = f"{why}; the gateway fallback failed too: " + "; ".join(failures)
    if integrity and failures:
        raise IntegrityError(message, check="block")
    raise PeerError(message)


# -- the node's use of them (functions of a ``Node``, kept out of the composition root) ----


def add_gateway_seeds(node: Node, transfer: Transfer) -> None:
    """Probe the configured gateways (in parallel, a short deadline) and add those that
    serve ``Range`` as web seeds of this running transfer only (``WebSeeds.add``: the
    stored torrent and ``/torrent`` keep only our own web seed)."""
    record = transfer.track.record
    seeds = range_seeds(node.settings.gateways, record["cid"], int(record["size"]),
                        allow_private=node.settings.allow_private_peers)
    for url in seeds:
        if transfer.done.is_set():
            return
        transfer.webseeds.add(url)


def gateway_fallback(node: Node, track: VerifiedTrack) -> Callable[[OspError], None]:
    """The ``Transfer.fallback`` that fetches ``track`` from the configured gateways."""
    def run(reason: OspError) -> None:
        fetch_verified(node, track, f"BitTorrent gave up ({reason.message})")
    return run


def fetch_verified(node: Node, track: VerifiedTrack, why: str) -> bytes:
    """The verified block-by-block fallback over ``settings.gateways`` in order; stores and
    seeds the track, returns its torrent.  Errors: ``fetch_from_gateways``."""
    s = node.settings
    infohash, metainfo = fetch_from_gateways(track, s.gateways, library=node.library, media_dir=s.media_dir,
                                             allow_private=s.allow_private_peers, deadline=s.request_deadline,
                                             why=why)
    if node.engine is not None:
        node._seed(metainfo, track.record["cid"])
        node.engine.request_resume_data(infohash)
    return metainfo


def fetch_by_gateways(node: Node, track: VerifiedTrack, engine: Engine, why: str) -> Transfer:
    """BitTorrent cannot start (``why``): fetch from the gateways now; a complete transfer."""
    metainfo = fetch_verified(node, track, why)
    transfer = Transfer(track, metainfo, engine=engine, library=node.library, media_dir=node.settings.media_dir,
                        peers=[], on_complete=node._transfer_done)
    node.transfers[track.id] = transfer
    transfer.mark_complete()
    return transfer
