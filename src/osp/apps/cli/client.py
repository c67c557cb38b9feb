"""Finding and talking to a running node's control API from CLI commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from osp.apps.http.credentials import read_token
from osp.apps.http.nodelock import is_held
from osp.core.errors import (
    CallerError,
    ConflictError,
    CorruptDataError,
    IntegrityError,
    KeystoreError,
    NotFoundError,
    OspError,
    PeerError,
    RemoteError,
    RemoteNotFoundError,
    UnsupportedMediaError,
)
from osp.core.settings import Settings

_ERRORS: dict[str, type[OspError]] = {
    "not-found": NotFoundError,
    "caller-error": CallerError,
    "peer": PeerError,
    "remote-error": RemoteError,
    "remote-not-found": RemoteNotFoundError,
    "conflict": ConflictError,
    "keystore": KeystoreError,
    "unsupported-media": UnsupportedMediaError,
    "corrupt-local-data": CorruptDataError,
    "too-large": CallerError,
}


@dataclass(frozen=True)
class RunningNode:
    """A node process serving this data directory: its URLs and the API token."""

    pid: int
    http: str
    control: str
    token: str


def find_running_node(settings: Settings) -> RunningNode | None:
    """The node recorded in ``node.json`` while a node holds the data directory's lock
    (``osp.apps.http.nodelock``), else ``None``: a ``node.json`` left by a killed node
    (whose pid may since belong to another process) is ignored.

    Raises ``CallerError`` if the token file is readable by others (``chmod 600``).
    """
    if not is_held(settings.data_dir):
        return None
    try:
        info = json.loads(settings.node_file.read_text("utf-8"))
        pid = int(info["pid"])
        token = read_token(settings.token_path)
        if token is None:
            return None
        return RunningNode(pid, str(info["http"]), str(info["control"]), token)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ControlClient:
    """Bearer-token client of the control API; maps error bodies back to ``OspError``."""

    def __init__(self, node: RunningNode, timeout: float = 300.0) -> None:
        self.node = node
        self._client = httpx.Client(
            base_url=node.control, timeout=timeout, headers={"Authorization": f"Bearer {node.token}"}
        )

    def close(self) -> None:
        self._client.close()

    def _check(self, resp: httpx.Response) -> Any:
        try:
            body = resp.json()
        except ValueError:
            body = {"message": resp.text[:200]}
        if resp.status_code >= 400:
            code = body.get("error", "")
            message = body.get("message", f"HTTP {resp.status_code}")
            if code == "integrity":
                raise IntegrityError(message, check=str(body.get("check", "?")))
            if code == "unauthorized":  # local state (exit 2), and what to do about it
                raise CallerError("the running node refused this data directory's api-token (was it replaced while "
                                  "the node runs? restart `osp node`)")
            raise _ERRORS.get(code, OspError)(message)
        return body

    def get(self, path: str) -> Any:
        try:
            return self._check(self._client.get(path))
        except httpx.HTTPError as exc:
            raise PeerError(f"the running node at {self.node.control} did not answer: {exc}") from exc

    def post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            return self._check(self._client.post(path, json=body))
        except httpx.HTTPError as exc:
            raise PeerError(f"the running node at {self.node.control} did not answer: {exc}") from exc

    def put(self, path: str, body: dict[str, Any]) -> Any:
        try:
            return self._check(self._client.put(path, json=body))
        except httpx.HTTPError as exc:
            raise PeerError(f"the running node at {self.node.control} did not answer: {exc}") from exc

    def delete(self, path: str) -> Any:
        try:
            return self._check(self._client.delete(path))
        except httpx.HTTPError as exc:
            raise PeerError(f"the running node at {self.node.control} did not answer: {exc}") from exc

    def post_progress(self, path: str, body: dict[str, Any], on_line: Callable[[dict[str, Any]], None]) -> Any:
        """POST asking for NDJSON progress: ``on_line`` gets each line but the last, which is returned."""
        try:
            with self._client.stream("POST", path, json=body, headers={"Accept": "application/x-ndjson"}) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    return self._check(resp)
                last: Any = None
                for text in resp.iter_lines():
                    if not text.strip():
                        continue
                    if last is not None:
                        on_line(last)
                    last = json.loads(text)
        except httpx.HTTPError as exc:
            raise PeerError(f"the running node at {self.node.control} did not answer: {exc}") from exc
        except ValueError as exc:
            raise RemoteError(f"the running node at {self.node.control} sent a malformed progress line") from exc
        if not isinstance(last, dict):
            raise RemoteError(f"the running node at {self.node.control} ended the answer early")
        return last

    def stream_url(self, track_id: str) -> str:
        """A URL for a media player: opens only this track's stream, for a few hours
        (``POST /api/stream-url``); the API token never goes on a command line."""
        answer = self.post("/api/stream-url", {"track": track_id})
        return f"{self.node.control}{answer['url']}"

    def stream(self, track_id: str) -> Iterator[bytes]:
        with self._client.stream("GET", f"/stream/{track_id}") as resp:
            if resp.status_code >= 400:
                resp.read()
                self._check(resp)
            yield from resp.iter_bytes()
