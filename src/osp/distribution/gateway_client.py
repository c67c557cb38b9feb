"""IPFS trustless gateway, client side: fetch a UnixFS file block by block and verify
every block against its CID before using it.

Source: IPFS Trustless Gateway spec (``GET /ipfs/{cid}?format=raw``,
``Accept: application/vnd.ipld.raw``).  A gateway is never trusted: a block whose
sha2-256 does not match its CID, a malformed node, a DAG larger than the expected size
or deeper than ``MAX_DEPTH``, or one that takes more blocks than ``block_budget`` of its
size (a genuine DAG of empty nodes fanning out would otherwise be asked forever) raises
``IntegrityError`` naming the gateway.
"""

from __future__ import annotations

import re
import time
from typing import Protocol

import httpx

from osp.content.cid import CID, DAG_PB, RAW
from osp.content.dagpb import UNIXFS_FILE, UNIXFS_RAW, DagPbError, PBLink, decode_node, decode_unixfs
from osp.core.errors import IntegrityError, PeerError
from osp.distribution.peer_client import DEFAULT_DEADLINE, PeerClient

MAX_BLOCK = 2 * 1024 * 1024
MAX_DEPTH = 16
RAW_TYPE = "application/vnd.ipld.raw"
MIN_CHUNK = 64 * 1024  #: a quarter of the smallest chunk of every CID profile (osp.content.unixfs)


def block_budget(size: int) -> int:
    """The most blocks a ``size``-byte UnixFS file may take to fetch: 16, plus two per
    ``MIN_CHUNK`` bytes (a leaf and its share of the parent nodes, with room to spare)."""
    return 16 + 2 * (max(0, size) // MIN_CHUNK + 1)


_CONTENT_RANGE = re.compile(r"bytes\s+0-0/(\d+)\s*")


def range_probe_ok(status: int, content_range: str | None, body: bytes, size: int) -> bool:
    """Whether the answer to ``Range: bytes=0-0`` shows a gateway that can be a BEP 19 web
    seed of a ``size``-byte file: ``206 Partial Content`` (RFC 9110 §15.3.7) with
    ``Content-Range: bytes 0-0/{size}`` (§14.4: the right complete length) and at most
    that one byte.  Pure; a ``200`` (Range ignored) or a wrong total is ``False``."""
    if status != 206 or content_range is None or len(body) > 1:
        return False
    m = _CONTENT_RANGE.fullmatch(content_range.strip())
    return m is not None and int(m[1]) == size


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

    def serves_range(self, cid: CID | str, size: int) -> bool:
        """Probe ``GET /ipfs/{cid}`` with ``Range: bytes=0-0`` (``range_probe_ok``), within
        the deadline and behind the egress guard; ``PeerError`` when the gateway cannot be
        reached or is refused by the guard."""
        url = f"{self.base_url}/ipfs/{cid}"
        self._deadline.at = time.monotonic() + self.deadline
        try:
            with self._client.stream("GET", url, headers={"Range": "bytes=0-0"}) as resp:
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > 1:
                        break
                return range_probe_ok(resp.status_code, resp.headers.get("content-range"), body, size)
        except httpx.HTTPError as exc:
            raise PeerError(f"cannot reach gateway {self.base_url}: {exc}") from exc
        finally:
            self._deadline.at = None

    def block(self, cid: CID) -> bytes:
        """One block, verified against ``cid``."""
        data = self.get_bytes(f"/ipfs/{cid}?format=raw", MAX_BLOCK, RAW_TYPE)
        if not cid.verify(data):
            raise IntegrityError(
                f"gateway {self.base_url} served bytes that do not match block {cid}: rejected", check="block"
            )
        return data

    def fetch_file(self, root: CID, out: Writable, expected_size: int, *, max_blocks: int | None = None,
                   until: float | None = None) -> int:
        """Write the file under ``root`` to ``out``; returns its size in bytes.

        Blocks are fetched depth-first in link order, each verified before its bytes are
        written; ``expected_size`` (from the signed record) bounds what is accepted, and
        ``max_blocks`` (default ``block_budget(expected_size)``) how many blocks are asked
        (``IntegrityError`` past it).  ``until``: a ``time.monotonic()`` instant the whole
        file must be done by (``PeerError`` after it); each block still has ``deadline``.
        """
        budget = block_budget(expected_size) if max_blocks is None else max_blocks
        written = asked = 0
        stack: list[tuple[CID, int]] = [(root, 0)]
        per_request = self.deadline
        while stack:
            cid, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise IntegrityError(f"DAG under {root} is deeper than {MAX_DEPTH}", check="block")
            asked += 1
            if asked > budget:
                raise IntegrityError(f"gateway {self.base_url}: the DAG under {root} takes more than {budget} blocks "
                                     f"for {expected_size} bytes: rejected", check="block")
            if until is not None:
                left = until - time.monotonic()
                if left <= 0:
                    raise PeerError(f"gateway {self.base_url}: {root} not complete within its time: given up")
                self.deadline = min(per_request, left)
            try:
                data = self.block(cid)
            finally:
                self.deadline = per_request
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
