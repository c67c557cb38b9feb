"""Discovery (OSP Layer 2, spec §9): DHT rendezvous keys, the announce plan and its
scheduler, search queries, matching and merging, artist feeds (BEP 44/46).

Pure, no I/O and no libtorrent: the node's adapters (``osp.node.discovery``,
``osp.node.search``, ``osp.node.feeds``) drive these with the engine and HTTP.
"""

from osp.discovery.announce import (
    ANNOUNCE_INTERVAL,
    DEFAULT_CAP,
    DEFAULT_RATE,
    Announce,
    Holding,
    Scheduler,
    plan,
)
from osp.discovery.feed import (
    CATALOG_FILE,
    FEED_SALT,
    MAX_VALUE,
    FeedGuard,
    FeedValue,
    catalog_decode,
    catalog_encode,
    expanded_secret,
    signing_bytes,
    verify_item,
)
from osp.discovery.keys import (
    STOP_WORDS,
    Kind,
    RendezvousKey,
    normalize,
    record_keys,
    rendezvous_key,
    title_words,
)
from osp.discovery.search import (
    MAX_RESPONSE_BYTES,
    MAX_RESULTS_PER_PEER,
    PEER_TIMEOUT,
    BadPeers,
    Merge,
    Query,
    Result,
    match,
    search_library,
)

__all__ = [
    "ANNOUNCE_INTERVAL",
    "CATALOG_FILE",
    "DEFAULT_CAP",
    "DEFAULT_RATE",
    "FEED_SALT",
    "MAX_RESPONSE_BYTES",
    "MAX_RESULTS_PER_PEER",
    "MAX_VALUE",
    "PEER_TIMEOUT",
    "STOP_WORDS",
    "Announce",
    "BadPeers",
    "FeedGuard",
    "FeedValue",
    "Holding",
    "Kind",
    "Merge",
    "Query",
    "RendezvousKey",
    "Result",
    "Scheduler",
    "catalog_decode",
    "catalog_encode",
    "expanded_secret",
    "match",
    "normalize",
    "plan",
    "record_keys",
    "rendezvous_key",
    "search_library",
    "signing_bytes",
    "title_words",
    "verify_item",
]
