"""Typed values exchanged with the BitTorrent engine: its configuration, libtorrent alerts as
frozen dataclass events (dispatched by type, never by string; style.md §3), torrent
status snapshots and parsed metainfo.  Pure data: no ``libtorrent`` import, so every
layer above can use them and tests can build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- events ----------------------------------------------------------------


@dataclass(frozen=True)
class PieceFinished:
    """A piece passed its hash check and is on disk."""

    infohash: str  #: hex v1 infohash
    piece: int  #: piece index


@dataclass(frozen=True)
class TorrentFinished:
    """Every wanted piece is on disk and verified."""

    infohash: str  #: hex v1 infohash


@dataclass(frozen=True)
class HashFailed:
    """A piece failed its hash check: some peer or web seed sent wrong bytes."""

    infohash: str  #: hex v1 infohash
    piece: int  #: piece index


@dataclass(frozen=True)
class PeerBanned:
    """libtorrent banned a peer (e.g. for sending corrupt pieces)."""

    infohash: str  #: hex v1 infohash
    peer: str  #: ``ip:port``


@dataclass(frozen=True)
class ResumeDataSaved:
    """Resume data for a torrent, ready to store."""

    infohash: str  #: hex v1 infohash
    data: bytes  #: bencoded resume data (``write_resume_data_buf``)


@dataclass(frozen=True)
class TorrentFailed:
    """A torrent stopped on an error (disk full, file missing, bad metadata)."""

    infohash: str  #: hex v1 infohash
    message: str  #: libtorrent's error text


@dataclass(frozen=True)
class CacheFlushed:
    """Everything libtorrent buffered for the torrent is written to its files."""

    infohash: str  #: hex v1 infohash


@dataclass(frozen=True)
class PieceRead:
    """The answer to ``read_piece``: a verified piece's bytes, or an error."""

    infohash: str  #: hex v1 infohash
    piece: int  #: piece index
    data: bytes  #: the piece (empty on error)
    error: str | None  #: libtorrent's error text, if the read failed


@dataclass(frozen=True)
class StorageMoved:
    """``move_storage`` finished (``error`` is ``None``) or failed."""

    infohash: str  #: hex v1 infohash
    error: str | None  #: libtorrent's error text on failure


@dataclass(frozen=True)
class TorrentDeleted:
    """``remove(delete_files=True)`` finished: libtorrent deleted the files and let go of them
    (``error`` is ``None``), or failed to."""

    infohash: str  #: hex v1 infohash
    error: str | None  #: libtorrent's error text on failure


Event = (
    PieceFinished | TorrentFinished | HashFailed | PeerBanned | ResumeDataSaved | TorrentFailed | CacheFlushed
    | PieceRead | StorageMoved | TorrentDeleted
)


@dataclass(frozen=True)
class TorrentStatus:
    """A snapshot of one torrent.

    ``state`` is one of ``checking``, ``downloading-metadata``, ``downloading``,
    ``finished``, ``seeding``; ``progress`` 0..1; byte counts; rates in bytes/s.
    """

    infohash: str
    name: str
    state: str
    progress: float
    total_done: int
    total_wanted: int
    download_rate: int
    upload_rate: int
    num_peers: int
    num_seeds: int
    total_uploaded: int
    error: str | None
    verified: int = 0  #: bytes of pieces that passed their hash check (``total_done`` counts partial pieces too)


@dataclass(frozen=True)
class PeerInfo:
    """One BitTorrent peer connected for a torrent (web seeds are not peers here)."""

    ip: str  #: the peer's address as we see it
    port: int  #: its port as we see it (its listen port when we dialled it)
    outgoing: bool  #: we dialled it (else it connected to us)
    sources: frozenset[str]  #: how we learned of it: ``pex`` (BEP 11), ``tracker``, ``dht``, ``lsd``, ``resume_data``
    seed: bool  #: it has every piece
    downloaded: int  #: payload bytes it sent us on this connection
    uploaded: int  #: payload bytes we sent it on this connection


@dataclass(frozen=True)
class Metainfo:
    """A parsed torrent: hex ``infohash`` (v1), ``infohash_v2`` (hex, hybrid only),
    file ``name``, ``size`` in bytes, ``piece_length``, ``num_pieces``, ``web_seeds``."""

    infohash: str
    infohash_v2: str | None
    name: str
    size: int
    piece_length: int
    num_pieces: int
    web_seeds: tuple[str, ...]


@dataclass(frozen=True)
class EngineConfig:
    """Session options.

    ``listen``: ``(host, port)``; ``dht`` on/off; ``bootstrap``: DHT nodes;
    ``local_network``: test/LAN tuning (uTP off, private DHT rules, local peers allowed);
    rate limits in bytes/s (0 = none).
    """

    listen: tuple[str, int] = ("0.0.0.0", 6881)
    dht: bool = True
    bootstrap: tuple[tuple[str, int], ...] = ()
    local_network: bool = False
    upload_rate_limit: int = 0
    download_rate_limit: int = 0
