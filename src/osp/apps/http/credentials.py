"""Control API credentials: the ``api-token`` file and short-lived stream credentials.

The token (256 random bits, ``<data_dir>/api-token``, mode 0600) authorizes every
control route, ``/api/publish`` (which signs with the artist's key) included, so it
must never leave the local user's hands: a token file that group or others can read
is refused, and media players get a **stream credential** instead — it opens
``/stream/{id}`` for one track until it expires, and nothing else.

Stream credential (``?t=`` on ``/stream/{id}``): ``"{expires}.{mac}"`` where
``expires`` is a Unix time in whole seconds and ``mac`` is the unpadded base64url
HMAC-SHA256 (RFC 2104), keyed by ``HMAC-SHA256(token, "osp/v0 stream credential")``,
of the UTF-8 bytes ``"stream\\n{track_id}\\n{expires}"``.

The web app (issue 9) never sees the token either: ``osp ui`` asks the node for a
**one-time login code** (``LoginCodes``: random, 120 s, single use, in memory) and opens
``/login?code=…``, which answers with an ``HttpOnly; SameSite=Strict`` **session cookie**
(``session_value``: an expiry and an HMAC keyed by the token, like stream credentials).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
import threading
from pathlib import Path

from osp.core.errors import CallerError

STREAM_TTL = 2 * 3600
"""Default lifetime of a stream credential in seconds (long enough to play, seek and replay a track)."""
MAX_STREAM_TTL = 24 * 3600


def read_token(path: Path) -> str | None:
    """The token in ``path``, ``None`` if the file is missing or too short.

    Raises ``CallerError`` if the file is readable or writable by group or others
    (like the identity key: the message names ``chmod 600``).
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if st.st_mode & 0o077:
        raise CallerError(
            f"the API token {path} is accessible by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run `chmod 600 {path}`, or delete it to make a new one"
        )
    token = path.read_text("utf-8").strip()
    return token if len(token) >= 32 else None


def ensure_token(path: Path) -> str:
    """The control API token in ``path`` (created 0600 with 256 random bits if missing).

    Raises ``CallerError`` for a token file others can read (see ``read_token``).
    """
    token = read_token(path)
    if token:
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return token


def _mac(token: str, track_id: str, expires: int) -> str:
    key = hmac.new(token.encode(), b"osp/v0 stream credential", hashlib.sha256).digest()
    digest = hmac.new(key, f"stream\n{track_id}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def stream_credential(token: str, track_id: str, now: float, ttl: int = STREAM_TTL) -> str:
    """A credential that opens ``/stream/{track_id}`` until ``now + ttl`` (seconds)."""
    expires = int(now) + max(1, min(ttl, MAX_STREAM_TTL))
    return f"{expires}.{_mac(token, track_id, expires)}"


def check_stream_credential(token: str, credential: str, track_id: str, now: float) -> bool:
    """True if ``credential`` was made with ``token`` for ``track_id`` and has not expired at ``now``."""
    expires_s, _, mac = credential.partition(".")
    if not (expires_s.isascii() and expires_s.isdigit()) or len(expires_s) > 12 or not mac:
        return False
    expires = int(expires_s)
    if now >= expires or expires - now > MAX_STREAM_TTL + 60:
        return False
    return hmac.compare_digest(mac.encode(), _mac(token, track_id, expires).encode())


# --- the web app's login: one-time codes and the session cookie ----------------------------

SESSION_COOKIE = "osp_session"
SESSION_TTL = 30 * 24 * 3600
"""Lifetime of a web app session in seconds (30 days)."""
LOGIN_CODE_TTL = 120
"""Seconds a one-time login code (``osp ui``'s link) stays valid."""
MAX_LOGIN_CODES = 32
"""Login codes held at most; issuing one more drops the oldest."""


def _session_mac(token: str, expires: int) -> str:
    key = hmac.new(token.encode(), b"osp/v0 session", hashlib.sha256).digest()
    digest = hmac.new(key, f"session\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def session_value(token: str, now: float, ttl: int = SESSION_TTL) -> str:
    """The ``osp_session`` cookie value: ``"{expires}.{mac}"`` with ``expires`` in Unix
    seconds (``now + ttl``) and ``mac`` the unpadded base64url HMAC-SHA256, keyed by
    ``HMAC-SHA256(token, "osp/v0 session")``, of ``"session\\n{expires}"``.  Stateless:
    it survives a node restart and dies when the API token changes (delete ``api-token``
    to end every session at once)."""
    expires = int(now) + max(1, min(ttl, SESSION_TTL))
    return f"{expires}.{_session_mac(token, expires)}"


def check_session(token: str, value: str, now: float) -> bool:
    """True if ``value`` is a session cookie made with ``token`` that has not expired at ``now``."""
    expires_s, _, mac = value.partition(".")
    if not (expires_s.isascii() and expires_s.isdigit()) or len(expires_s) > 12 or not mac or len(mac) > 64:
        return False
    expires = int(expires_s)
    if now >= expires or expires - now > SESSION_TTL + 60:
        return False
    return hmac.compare_digest(mac.encode(), _session_mac(token, expires).encode())


class LoginCodes:
    """One-time login codes, in memory: ``issue(now)`` makes one valid for
    ``LOGIN_CODE_TTL`` seconds, ``redeem(code, now)`` accepts it once.  At most
    ``MAX_LOGIN_CODES`` are held (expired ones go first, then the oldest), so callers
    cannot grow it; a restart forgets them all.  Thread-safe; time is passed in."""

    def __init__(self, ttl: float = LOGIN_CODE_TTL, cap: int = MAX_LOGIN_CODES) -> None:
        self.ttl = ttl
        self.cap = cap
        self._codes: dict[str, float] = {}  # code -> expiry (Unix seconds), oldest first
        self._lock = threading.Lock()

    def issue(self, now: float) -> tuple[str, float]:
        """A fresh random code (256 bits, base64url) and its expiry (Unix seconds)."""
        code = secrets.token_urlsafe(32)
        with self._lock:
            for old in [c for c, exp in self._codes.items() if exp <= now]:
                del self._codes[old]
            while len(self._codes) >= self.cap:
                del self._codes[next(iter(self._codes))]
            self._codes[code] = expires = now + self.ttl
        return code, expires

    def redeem(self, code: str, now: float) -> bool:
        """True once for a code issued here and not expired at ``now``; it is used up."""
        if not code or len(code) > 128:
            return False
        with self._lock:
            expires = self._codes.pop(code, None)
        return expires is not None and now < expires
