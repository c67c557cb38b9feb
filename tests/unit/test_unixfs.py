import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from osp.content.car import car_header, car_section, read_car
from osp.content.cid import CID, DAG_PB, JSON, RAW
from osp.content.dagpb import decode_node, decode_unixfs
from osp.content.testdata import chacha_stream
from osp.content.unixfs import Profile, UnixfsImporter, cid_of_bytes, import_stream

TINY = Profile("tiny", 1, True, 16, 3)  # small shapes exercise every tree depth quickly


def test_well_known_cids() -> None:
    assert str(cid_of_bytes(b"", "unixfs-v0-2015")) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    assert str(cid_of_bytes(b"hello world\n", "unixfs-v0-2015")) == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert str(cid_of_bytes(b"")) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@given(st.binary(max_size=400), st.lists(st.integers(min_value=1, max_value=50), max_size=30))
def test_feed_splitting_does_not_change_the_cid(data: bytes, cuts: list[int]) -> None:
    pieces, pos = [], 0
    for cut in cuts:
        pieces.append(data[pos : pos + cut])
        pos += cut
    pieces.append(data[pos:])
    assert import_stream(pieces, TINY) == import_stream([data], TINY)


@given(st.binary(max_size=2000))
@settings(max_examples=50)
def test_dag_is_well_formed(data: bytes) -> None:
    blocks = {}
    root = import_stream([data], TINY, on_block=lambda b: blocks.__setitem__(b.cid, b))

    def read(cid: CID) -> bytes:
        block = blocks[cid]
        if block.data is None:
            chunk = data[block.offset : block.offset + block.length]
            assert cid.verify(chunk)
            return chunk
        assert cid.verify(block.data)
        _, links = decode_node(block.data)
        fs = decode_unixfs(decode_node(block.data)[0])
        assert len(links) <= TINY.max_links and fs.filesize == sum(fs.blocksizes)
        return b"".join(read(link.cid) for link in links)

    assert read(root) == data


def test_single_chunk_file_is_its_raw_leaf() -> None:
    assert cid_of_bytes(b"x" * 16, TINY) == CID.of(b"x" * 16, RAW)
    assert cid_of_bytes(b"x" * 17, TINY).codec == DAG_PB


def test_group_of_one_is_still_wrapped() -> None:
    # 4 leaves, 3 links per node: root -> [node(3 leaves), node(1 leaf)]
    importer = UnixfsImporter(TINY)
    blocks = importer.feed(bytes(range(64)))
    root, tail = importer.finish()
    parents = {b.cid: b for b in blocks + tail if b.data is not None}
    _, links = decode_node(parents[root].data)  # type: ignore[arg-type]
    assert [len(decode_node(parents[link.cid].data)[1]) for link in links] == [3, 1]  # type: ignore[arg-type]


def test_cid_text_round_trip() -> None:
    for cid in (CID.of(b"a"), CID.of(b"a", DAG_PB, 0), CID.of(b"{}", JSON)):
        assert CID.decode(str(cid)) == cid and CID.from_bytes(cid.to_bytes()) == cid


def test_car_round_trip() -> None:
    leaf = b"hello"
    cid = CID.of(leaf)
    car = car_header([cid]) + car_section(cid, leaf)
    header, sections = read_car(car)
    assert b"roots" in header and list(sections) == [(cid, leaf)]


def test_memory_stays_flat_with_file_size() -> None:
    tracemalloc.start()
    import_stream(chacha_stream("flat", 64 * 1024 * 1024), "unixfs-v1-2025")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # one 1 MiB chunk, a generator step and a node
