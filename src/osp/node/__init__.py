"""The node: composition root (``Node``), publish pipeline and fetch transfers."""

from osp.node.core import Node
from osp.node.fetch import Transfer, TransferState, verify_file
from osp.node.publish import Published, TrackMetadata, publish_file

__all__ = ["Node", "Published", "TrackMetadata", "Transfer", "TransferState", "publish_file", "verify_file"]
