"""Where ``/stream/`` reads a track from: the library's file, or a running transfer's pieces
(``StreamSource`` with the transfer's engine, read scheduling and web seeds)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from osp.core.errors import NotFoundError
from osp.distribution.streaming import StreamSource

if TYPE_CHECKING:
    from osp.node.core import Node


def stream_source(node: Node, track_id: str) -> StreamSource:
    """The bytes of ``track_id``: its stored file (checked present before any header is
    sent: never a short body), else its running transfer; ``NotFoundError`` for neither."""
    transfer = node.transfers.get(track_id)
    row = node.library.track(track_id)
    if row is not None:
        file = node.library.file(row.cid)
        if file is not None:
            path = node.settings.data_dir / file.path
            if node.file_missing(file.cid):
                raise NotFoundError(f"the file of {track_id} is missing or changed on disk (see `osp ls`)")
            return StreamSource(lambda: path, row.size, row.format)
    if transfer is None or transfer.state.state == "failed":
        raise NotFoundError(f"{track_id} is neither in the library nor being fetched")
    final = node.settings.media_dir / transfer.file_name  # our names, never the torrent's
    partial = transfer.partial_dir / transfer.file_name

    def path_of() -> Path:
        return final if final.exists() else partial

    return StreamSource(
        path_of,
        transfer.info.size,
        transfer.track.record["format"],
        engine=node.engine,
        infohash=transfer.info.infohash,
        piece_length=transfer.info.piece_length,
        waiter=node.waiter,
        reads=node.reads,
        http=transfer.webseeds,
    )
