"""One error root, split by who is at fault.

``OspError`` is the only exception type that crosses a layer boundary on purpose.
``CallerError`` means the local user or program asked for something wrong (bad
argument, missing key, unsupported file); ``RemoteError`` means data that arrived from
elsewhere is wrong (forged signature, wrong bytes, hostile peer).  The CLI maps every
``OspError`` to a one-line message and an exit code; the HTTP edge maps it to a status
code (``http_status``).  Nothing below the edge prints or exits.
"""

from __future__ import annotations


class OspError(Exception):
    """Root of every error the node raises on purpose.

    ``code`` is a stable, machine-readable slug (used in ``--json`` output and HTTP
    problem bodies); ``exit_code`` is the CLI's exit status; ``http_status`` the HTTP
    status the edge answers with.
    """

    code = "error"
    exit_code = 1
    http_status = 500

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_json(self) -> dict[str, object]:
        """``{"error": code, "message": str, **context}`` with JSON-safe context."""
        out: dict[str, object] = {"error": self.code, "message": self.message}
        for key, value in self.context.items():
            out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        return out


class CallerError(OspError):
    """The local caller is at fault: bad arguments, missing files, wrong state."""

    code = "caller-error"
    exit_code = 2
    http_status = 400


class NotFoundError(CallerError):
    """A named thing (track, key, file, CID) does not exist here."""

    code = "not-found"
    http_status = 404


class ConflictError(CallerError):
    """The request conflicts with existing state (e.g. a key already exists)."""

    code = "conflict"
    http_status = 409


class KeystoreError(CallerError):
    """The identity key is missing, corrupt, unreadable or insecurely stored."""

    code = "keystore"


class UnsupportedMediaError(CallerError):
    """A file is not audio, is truncated, or its content contradicts its name."""

    code = "unsupported-media"
    http_status = 415


class CorruptDataError(CallerError):
    """Local data (library, file on disk) is damaged."""

    code = "corrupt-local-data"
    exit_code = 3
    http_status = 500


class CorruptKeyError(KeystoreError, CorruptDataError):
    """The identity key file is damaged or unreadable (exit 3, like other local data)."""

    code = "keystore-corrupt"


class RemoteError(OspError):
    """Something that arrived from a peer, gateway or file of unknown origin is bad."""

    code = "remote-error"
    exit_code = 4
    http_status = 502


class RemoteNotFoundError(RemoteError):
    """A peer or gateway answered that it does not have what we asked for (HTTP 404
    from it): the peer's answer, not the caller's fault (a track missing from the local
    library is a ``NotFoundError``)."""

    code = "remote-not-found"
    http_status = 404


class IntegrityError(RemoteError):
    """A signature, id, CID, hash or schema check failed.

    ``check`` names the failed check (``proof``, ``id``, ``schema``, ``cid``,
    ``verification-method``, ``piece-hash`` …) so callers and tests can tell them apart.
    """

    code = "integrity"
    exit_code = 5
    http_status = 422

    def __init__(self, message: str, *, check: str, **context: object) -> None:
        super().__init__(message, check=check, **context)
        self.check = check


class PeerError(RemoteError):
    """A peer could not be reached or answered outside the protocol."""

    code = "peer"
    exit_code = 6
