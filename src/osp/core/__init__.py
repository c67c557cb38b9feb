"""Core: the error tree and typed settings shared by every layer."""

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

__all__ = [
    "CallerError",
    "ConflictError",
    "CorruptDataError",
    "IntegrityError",
    "KeystoreError",
    "NotFoundError",
    "OspError",
    "PeerError",
    "RemoteError",
    "RemoteNotFoundError",
    "Settings",
    "UnsupportedMediaError",
]
