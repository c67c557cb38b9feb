"""A fetching node refuses a torrent whose piece length breaks the OSP v0.1 rule, even
when the artist signed its infohash: identical audio must give one swarm, and a hostile
artist's huge pieces could never stream (spec §"Torrent")."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import libtorrent as lt
import pytest

from osp.core.errors import IntegrityError
from osp.core.settings import Settings
from osp.distribution.engine import parse_metainfo
from osp.distribution.magnet import Magnet
from osp.identity import SigningKey
from osp.library import Library
from osp.node import Node
from osp.node.publish import TrackMetadata, publish_file
from osp.records import verify_track
from osp.records.track import build_track, sign_track
from tests.interop.fakes import osp_peer

KEY = SigningKey.from_seed(bytes(range(32)))


def torrent_with_pieces(path: Path, name: str, piece_length: int) -> bytes:
    """A v1 torrent of ``path`` (saved as ``name``) with any ``piece_length``: what a
    hostile or outdated publisher could make."""
    fs = lt.file_storage()
    fs.add_file(name, path.stat().st_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ct = lt.create_torrent(fs, piece_length, lt.create_torrent.v1_only)
    (path.parent / name).write_bytes(path.read_bytes())
    lt.set_piece_hashes(ct, str(path.parent))
    return bytes(lt.bencode(ct.generate()))


@pytest.mark.parametrize("piece_length", [256 * 1024, 8 * 1024 * 1024])
def test_fetch_refuses_a_signed_torrent_with_the_wrong_piece_length(tmp_path: Path, music: list[Path],
                                                                    piece_length: int) -> None:
    with Library(tmp_path / "a.sqlite3") as lib:
        honest = publish_file(music[0], TrackMetadata(title="Intro"), key=KEY, library=lib, media_dir=tmp_path / "a")
    name = f"{honest.track.record['cid']}.ogg"
    src = tmp_path / "src"
    src.mkdir()
    (src / "in.ogg").write_bytes(music[0].read_bytes())
    bad = torrent_with_pieces(src / "in.ogg", name, piece_length)
    mi = parse_metainfo(bad)
    assert mi.piece_length == piece_length and mi.infohash != honest.infohash
    # the artist signs a record naming the odd torrent: signature, id and size all check out
    body = {k: v for k, v in honest.track.record.items() if k not in ("id", "proof", "@context", "type", "version")}
    body["torrent"] = str(Magnet(mi.infohash, None, name, mi.size))
    track = verify_track(sign_track(build_track(body), KEY, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))

    node = Node(Settings(data_dir=tmp_path / "b", listen=("127.0.0.47", 0), dht=False, allow_private_peers=True))
    try:
        with osp_peer("127.0.0.47", track.record, bad, 9) as peer:
            with pytest.raises(IntegrityError) as exc:
                node.fetch(track.id, peer)
        assert exc.value.check == "piece-length"
        assert str(piece_length) in exc.value.message and "16384" in exc.value.message
        assert track.id not in node.transfers and not list(node.library.transfer_rows())
    finally:
        node.close()
