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


@dataclass(frozen=True)
class DhtPeers:
    """One DHT node's answer to our ``get_peers`` lookup (BEP 5): peers announced under ``key``."""

    key: bytes  #: the 20-byte key (infohash or rendezvous key)
    peers: tuple[tuple[str, int], ...]  #: ``(ip, port)`` as the answering node gave them (unverified hints)


@dataclass(frozen=True)
class DhtLookups:
    """A snapshot of the DHT's running lookups (answer to ``post_dht_stats``)."""

    index: int  #: the engine's count of these snapshots so far (1, 2, ...), to match a request with its answer
    active: tuple[str, ...]  #: libtorrent's name of each running lookup (``get_peers``, ``get``, ``put_data``, ...)


@dataclass(frozen=True)
class MutableItem:
    """A BEP 44 mutable item found in the DHT (libtorrent checked its signature).

    ``value`` is the item's ``v`` when it is a byte string (the only kind we store); the
    signature covers ``signing_bytes(salt, seq, value)`` (BEP 44).
    """

    public: bytes  #: 32-byte Ed25519 public key
    salt: bytes  #: the salt (see ``Engine.dht_get_mutable`` about libtorrent's non-authoritative alerts)
    seq: int  #: sequence number
    value: bytes  #: the stored byte string
    signature: bytes  #: 64-byte Ed25519 signature
    authoritative: bool  #: True once the lookup heard from every node close to the target (highest seq)


@dataclass(frozen=True)
class MutablePut:
    """A BEP 44 put finished: ``num_success`` nodes stored the item (0: it failed)."""

    public: bytes  #: 32-byte Ed25519 public key
    salt: bytes  #: the salt
    seq: int  #: the sequence number stored
    signature: bytes  #: 64-byte signature stored
    num_success: int  #: DHT nodes that acknowledged the put


@dataclass(frozen=True)
class ExternalAddress:
    """Peers or the DHT told us our address as they see it (libtorrent's vote)."""

    ip: str  #: IPv4 or IPv6 address


@dataclass(frozen=True)
class PortMapped:
    """UPnP or NAT-PMP mapped our BitTorrent port on the router."""

    external_port: int  #: the port open on the router's outside
    protocol: str  #: ``upnp`` or ``natpmp``


@dataclass(frozen=True)
class PortMapFailed:
    """UPnP or NAT-PMP could not map our port."""

    protocol: str  #: ``upnp`` or ``natpmp``
    message: str  #: libtorrent's error text


@dataclass(frozen=True)
class ListenFailed:
    """libtorrent could not listen on a configured address (port taken, no such address)."""

    address: str  #: ``host:port`` that failed
    message: str  #: libtorrent's error text


@dataclass(frozen=True)
class SessionStats:
    """Session counters (answer to ``post_session_stats``), by libtorrent metric name."""

    values: dict[str, int]  #: e.g. ``dht.dht_messages_in``, ``dht.dht_nodes``


Event = (
    PieceFinished | TorrentFinished | HashFailed | PeerBanned | ResumeDataSaved | TorrentFailed | CacheFlushed
    | PieceRead | StorageMoved | TorrentDeleted | DhtPeers | DhtLookups | MutableItem | MutablePut
    | ExternalAddress | PortMapped | PortMapFailed | ListenFailed | SessionStats
)


@dataclass(frozen=True)
class Reachability:
    """How reachable the node is, as far as the engine knows.

    ``port_mapping``: ``off`` (not asked), ``pending`` (asked, no answer yet), ``mapped``
    (UPnP or NAT-PMP opened ``mapped_port``), ``failed`` (every protocol failed).
    """

    bittorrent_port: int  #: the bound BitTorrent (TCP and DHT UDP) port
    external_ip: str | None  #: our address as peers and DHT nodes report it; None until one does
    port_mapping: str  #: ``off`` | ``pending`` | ``mapped`` | ``failed``
    mapped_port: int | None  #: the router's outside port when ``mapped``
    dht_nodes: int  #: nodes in the DHT routing table


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
    port_mapping: bool = False
    dht_state: bytes | None = None
