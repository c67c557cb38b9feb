"""Library: the node's SQLite store of records, files, blocks and torrents."""

from osp.library.store import FileRow, Library, TorrentRow, TrackRow

__all__ = ["FileRow", "Library", "TorrentRow", "TrackRow"]
