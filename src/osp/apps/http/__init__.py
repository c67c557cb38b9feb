"""HTTP faces of a node: the peer listener (read-only, CORS ``*``) and the loopback
control listener (bearer token, Host and Origin checks)."""

from osp.apps.http.control import control_app
from osp.apps.http.peer import peer_app
from osp.apps.http.server import NodeServer

__all__ = ["NodeServer", "control_app", "peer_app"]
