"""IPFS trustless gateway, client side: fetch a UnixFS file block by block and verify
every block against its CID before using it.

Source: IPFS Trustless Gateway spec (``GET /ipfs/{cid}?format=raw``,
``Accept: application/vnd.ipld.raw``).  A gateway is never trusted: a block whose
sha2-256 does not match its CID, a malformed node, a DAG larger than the expected size
or deeper than ``MAX_DEPTH`` raises ``IntegrityError`` naming the gateway.
"""

from __future__ import annotations

from typing import Protocol

from osp.content.cid import CID, DAG_PB, RAW
from osp.content.dagpb import UNIXFS_FILE, UNIXFS_RAW, DagPbError, PBLink, decode_node, decode_unixfs
from osp.core.errors import IntegrityError
from osp.distribution.peer_client import DEFAULT_DEADLINE, PeerClient

MAX_BLOCK = 2 * 1024 * 1024
MAX_DEPTH = 16
RAW_TYPE = "application/vnd.ipld.raw"


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class GatewayClient(PeerClient):
    """A trustless gateway at ``base_url`` (e.g. ``http://127.0.0.2:8787``).

    Same egress guard and deadline as ``PeerClient``: each block request must finish
    within ``deadline`` seconds (``PeerError`` otherwise); ``timeout`` is per read;
    ``allow_private`` is off by default.  A 404 is ``RemoteNotFoundError`` (exit 4).
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0, deadline: float = DEFAULT_DEADLINE,
                 allow_private: bool = False) -> None:
        super().__init__(base_url, timeout=timeout, deadline=deadline, allow_private=allow_private)

    def block(self, cid: CID) -> bytes:
        """One block, verified against ``cid``."""
        data = self.get_bytes(f"/ipfs/{cid}?format=raw", MAX_BLOCK, RAW_TYPE)
        if not cid.verify(data):
            raise IntegrityError(
                f"gateway {self.base_url} served bytes that do not match block {cid}: rejected", check="block"
            )
        return data

    def fetch_file(self, root: CID, out: Writable, expected_size: int) -> int:
        """Write the file under ``root`` to ``out``; returns its size in bytes.

        Blocks are fetched depth-first in link order, each verified before its bytes are
        written; ``expected_size`` (from the signed record) bounds what is accepted.
        """
        written = 0
        stack: list[tuple[CID, int]] = [(root, 0)]
        while stack:
            cid, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise IntegrityError(f"DAG under {root} is deeper than {MAX_DEPTH}", check="block")
            data = self.block(cid)
            if cid.codec == RAW:
                payload: bytes = data
                links: list[PBLink] = []
            elif cid.codec == DAG_PB:
                try:
                    inner, links = decode_node(data)
                    fs = decode_unixfs(inner)
                except DagPbError as exc:
                    raise IntegrityError(f"block {cid} is not a UnixFS node: {exc}", check="block") from exc
                if fs.type not in (UNIXFS_FILE, UNIXFS_RAW):
                    raise IntegrityError(f"block {cid} is not part of a UnixFS file", check="block")
                payload = fs.data
            else:
                raise IntegrityError(f"unsupported codec 0x{cid.codec:x} in a UnixFS file", check="block")
            if payload:
                written += len(payload)
                if written > expected_size:
                    raise IntegrityError(f"the DAG under {root} holds more than {expected_size} bytes", check="size")
                out.write(payload)
            stack.extend((link.cid, depth + 1) for link in reversed(links))
        if written != expected_size:
            raise IntegrityError(f"the DAG under {root} holds {written} bytes, expected {expected_size}", check="size")
        return written
