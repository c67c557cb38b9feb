"""Layer 2 social: the listener's web of trust and recommendations, computed on the
listener's own node (design.md §2).  The signed social records themselves (Playlist,
Follow, Like, Comment, Endorsement, Flag, Tombstone) live in ``osp.records.social``."""
