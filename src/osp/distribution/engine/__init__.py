"""The BitTorrent engine: the ONLY package that imports ``libtorrent``.

It owns one ``libtorrent.session`` and translates everything the rest of the node needs
into plain Python (design.md §4): torrents named by hex v1 infohash, libtorrent alerts as
the typed events of ``osp.distribution.events``, libtorrent errors as ``OspError``
subclasses.  Modules:

- ``metainfo``: torrent files (parse, create v1/hybrid, rebuild, web seeds; BEP 3/19/52);
- ``session``: ``Engine``, the session, its torrents and its alert thread (BEP 3/9);
- ``dht``: ``DhtMixin``, the DHT (BEP 5, BEP 44) and reachability calls of ``Engine``
  (port mapping of the BitTorrent and HTTP ports), driving the sans-IO state machines
  of ``osp.distribution.dht``.

The import-linter contract "libtorrent only in distribution.engine" (pyproject.toml)
keeps ``libtorrent`` imports inside this package.
"""

from osp.distribution.engine.metainfo import (
    make_hybrid_torrent,
    make_v1_torrent,
    parse_metainfo,
    rebuild_torrent,
    v1_piece_hashes,
    with_web_seeds,
)
from osp.distribution.engine.session import Engine

__all__ = [
    "Engine",
    "make_hybrid_torrent",
    "make_v1_torrent",
    "parse_metainfo",
    "rebuild_torrent",
    "v1_piece_hashes",
    "with_web_seeds",
]
