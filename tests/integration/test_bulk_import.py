"""``osp import`` / ``osp publish DIR`` on a real folder of exports (tests/import_folder.py):
offline and through a running node; records from tags, cover art as a served artwork CID,
a re-run that publishes nothing new, and a fetched track's artwork fetched by CID."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from osp.content.unixfs import cid_of_bytes
from osp.node.credentials import c2pa_store
from tests.c2pa_ca import make_ca
from tests.import_folder import DUPLICATES, PUBLISHED, REFUSED, TOP_LEVEL, ExportFolder, make_export_folder
from tests.integration.nodes import jsonl, node_server, osp, start_node


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> ExportFolder:
    return make_export_folder(tmp_path_factory.mktemp("exports") / "Exports", music)


def split(lines: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """``({path relative to the folder root's parent…: line}, summary)`` of an ``--json`` run."""
    *files, last = lines
    assert set(last) == {"summary"}
    return {line["file"]: line for line in files}, last["summary"]


def rel(folder: ExportFolder, name: str) -> str:
    return str(folder.root / name)


def check_first_run(folder: ExportFolder, files: dict[str, dict[str, Any]], summary: dict[str, Any]) -> None:
    assert summary["published"] == 4 and summary["alreadyPublished"] == 2 and summary["refused"] == 7, summary
    assert {f for f, line in files.items() if line["status"] == "published"} == {rel(folder, n) for n in PUBLISHED}
    assert {f for f, line in files.items() if line["status"] == "already published"} == {
        rel(folder, n) for n in DUPLICATES}
    refused = {f: line for f, line in files.items() if line["status"] == "refused"}
    assert set(refused) == {rel(folder, n) for n in REFUSED}
    reasons = {Path(f).name: line["message"] for f, line in refused.items()}
    assert "not an audio file" in reasons["notes.txt"] and "not an audio file" in reasons["photo.jpg"]
    assert "not an audio file" in reasons["broken.mp3"]
    assert "truncated FLAC" in reasons["truncated.flac"]
    assert "dangling symbolic link" in reasons["gone.mp3"]
    assert "a folder, not an audio file" in reasons["dir.mp3"]
    assert "out of the folder" in reasons["outside.ogg"]
    assert not any(".hidden" in f for f in files) and rel(folder, "album/cover.jpg") not in files
    # the duplicates are the very tracks of the files they copy
    assert files[rel(folder, DUPLICATES[0])]["id"] == files[rel(folder, PUBLISHED[0])]["id"]
    assert files[rel(folder, DUPLICATES[1])]["id"] == files[rel(folder, PUBLISHED[1])]["id"]
    check_records(folder, {Path(f).name: line["record"] for f, line in files.items() if "record" in line})


def check_records(folder: ExportFolder, records: dict[str, dict[str, Any]]) -> None:
    neon = records[Path(PUBLISHED[0]).name]
    assert (neon["title"], neon["artistName"], neon["album"]) == ("Neon Rain", "Ada Lovelace", "Circuits")
    assert neon["lyrics"] == "neon rain on the wire" and neon["released"] == "2024-05-06"
    assert neon["tags"] == ["synthwave"] and neon["format"] == "audio/mpeg"
    assert neon["provenance"] == {"generator": {"name": "Suno"}, "model": "chirp-v3.5", "prompt": "rainy synthwave",
                                  "seed": 1234567, "aiGenerated": True, "digitalSourceType": "trainedAlgorithmicMedia"}
    assert neon["artwork"] == str(cid_of_bytes(folder.jpeg))
    tide = records[Path(PUBLISHED[1]).name]
    assert tide["tags"] == ["ambient", "chiptune"] and tide["released"] == "2023-01-01"
    assert tide["provenance"] == {"aiGenerated": False} and tide["lyrics"] == "low tide"
    assert tide["artwork"] == str(cid_of_bytes(folder.png))
    suno = records[Path(PUBLISHED[2]).name]
    assert suno["provenance"] == {"generator": {"name": "Suno"}, "aiGenerated": True,  # from "Made with Suno"
                                  "digitalSourceType": "trainedAlgorithmicMedia"}
    assert suno["artwork"] == tide["artwork"] and suno["format"] == "audio/mp4"
    intro = records[Path(PUBLISHED[3]).name]
    assert intro["artwork"] == str(cid_of_bytes(folder.folder_cover)) and intro["released"] == "2022-12-01"
    assert "provenance" not in intro and "lyrics" not in intro


def test_offline_import_then_rerun_then_served_by_the_node(folder: ExportFolder, tmp_path: Path) -> None:
    data = tmp_path / "data"
    osp(data, "id", "init")
    top = osp(data, "publish", str(folder.root), "--json", check=False)  # a folder: not recursive by default
    assert top.returncode == 2, top.stderr
    files, summary = split(jsonl(top))
    assert (summary["published"], summary["alreadyPublished"], summary["refused"]) == tuple(TOP_LEVEL.values())
    assert not any("/album/" in f for f in files)

    first = osp(data, "import", str(folder.root), "--json", "--license", "CC-BY-4.0", check=False)
    assert first.returncode == 2, first.stderr
    files, summary = split(jsonl(first))
    assert summary["published"] == 1 and summary["alreadyPublished"] == 5 and summary["refused"] == 7
    intro = files[rel(folder, PUBLISHED[3])]
    assert intro["status"] == "published" and intro["record"]["license"] == "CC-BY-4.0"

    again = osp(data, "import", str(folder.root), check=False)  # the readable report
    assert again.returncode == 2
    assert "0 published, 6 already published (skipped), 7 refused" in again.stderr
    assert f"refused: {folder.root / 'notes.txt'}: is not an audio file" in again.stderr

    ls = jsonl(osp(data, "ls", "--json"))
    assert len(ls) == 4
    records = {Path(f).name: line["record"] for f, line in files.items() if "record" in line}
    records |= {Path(n).name: next(t["record"] for t in ls if t["title"] == title)
                for n, title in zip(PUBLISHED[:3], ("Neon Rain", "Tide", "Suno Export"), strict=True)}
    check_records(folder, records)

    node = start_node(data, 61)
    try:
        cid = records[Path(PUBLISHED[0]).name]["artwork"]
        served = httpx.get(f"{node.http}/ipfs/{cid}", timeout=10)
        assert served.status_code == 200 and served.content == folder.jpeg
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
        raw = httpx.get(f"{node.http}/ipfs/{cid}?format=raw", timeout=10)
        assert raw.status_code == 200 and raw.content == folder.jpeg  # one raw leaf: the bytes themselves
        auth = {"Authorization": f"Bearer {node.token}"}
        track_id = next(t["id"] for t in ls if t["title"] == "Neon Rain")
        view = httpx.get(f"{node.control}/api/tracks/{track_id}", headers=auth, timeout=10).json()
        assert view["artworkUrl"] == f"/api/artwork/{cid}"
        image = httpx.get(f"{node.control}{view['artworkUrl']}", headers=auth, timeout=10)
        assert image.status_code == 200 and image.content == folder.jpeg
        assert image.headers["content-type"] == "image/jpeg" and image.headers["x-content-type-options"] == "nosniff"
        missing = httpx.get(f"{node.control}/api/artwork/{cid_of_bytes(b'nothing')}", headers=auth, timeout=10)
        assert missing.status_code == 404
    finally:
        node.stop()


def test_import_through_a_running_node_and_a_listener_gets_the_artwork(folder: ExportFolder, tmp_path: Path) -> None:
    data = tmp_path / "artist"
    node = start_node(data, 62)
    try:
        run = osp(data, "import", str(folder.root), "--json", check=False)  # goes through POST /api/import
        assert run.returncode == 2, run.stderr
        files, summary = split(jsonl(run))
        check_first_run(folder, files, summary)
        rerun = osp(data, "import", str(folder.root), "--json", check=False)
        files2, summary2 = split(jsonl(rerun))
        assert (summary2["published"], summary2["alreadyPublished"], summary2["refused"]) == (0, 6, 7)

        neon = files[rel(folder, PUBLISHED[0])]
        with node_server(tmp_path / "listener", "127.0.0.63") as listener:
            state = listener.node.fetch(neon["id"], node.http).wait(60)
            assert state.state == "complete", state
            cid = neon["record"]["artwork"]
            auth = {"Authorization": f"Bearer {listener.token}"}
            view = httpx.get(f"{listener.control_url}/api/tracks/{neon['id']}", headers=auth, timeout=10).json()
            assert view["artworkUrl"] == f"/api/artwork/{cid}"
            image = httpx.get(f"{listener.control_url}{view['artworkUrl']}", headers=auth, timeout=30)
            assert image.status_code == 200, image.text
            assert image.content == folder.jpeg and image.headers["content-type"] == "image/jpeg"
            # now held: the listener's own gateway serves it too
            assert httpx.get(f"{listener.peer_url}/ipfs/{cid}", timeout=10).content == folder.jpeg
            # a CID no record here names is never fetched
            other = str(cid_of_bytes(folder.png))
            assert httpx.get(f"{listener.control_url}/api/artwork/{other}", headers=auth, timeout=10).status_code == 404
    finally:
        node.stop()


def test_artwork_file_for_one_publish(folder: ExportFolder, tmp_path: Path, audio_files: dict[str, Path]) -> None:
    data = tmp_path / "one"
    osp(data, "id", "init")
    cover = folder.root / "album" / "cover.jpg"
    (track,) = jsonl(osp(data, "publish", str(audio_files["ogg"]), "--artwork-file", str(cover), "--json"))
    assert track["record"]["artwork"] == str(cid_of_bytes(folder.folder_cover))
    bad = osp(data, "publish", str(audio_files["ogg"]), "--artwork-file", str(folder.root / "notes.txt"), check=False)
    assert bad.returncode == 2 and "not a JPEG, PNG or WebP image" in bad.stderr


def test_interrupted_inside_a_file_keeps_what_is_published_and_a_rerun_continues(folder: ExportFolder,
                                                                                 tmp_path: Path) -> None:
    """Ctrl-C (a ``KeyboardInterrupt``) while the second track is being hashed: the first
    stays published, nothing half-written is left once the node opens again, and the
    re-run publishes the rest."""
    from osp.core.settings import Settings
    from osp.node import Node
    from osp.node.bulk import FileDone, Reading, import_paths
    from osp.node.publish import TrackMetadata

    settings = Settings(data_dir=tmp_path / "ctrl-c", dht=False)
    node = Node(settings)
    node.keystore.create()
    seen: list[Path] = []

    def on_event(event: object) -> None:
        if isinstance(event, FileDone) and event.status == "published":
            seen.append(event.path)
        if isinstance(event, Reading) and len(seen) == 1:
            raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            import_paths(node, [folder.root], TrackMetadata(), on_event=on_event)
        assert [t.title for t in node.library.tracks()] == ["Neon Rain"]
    finally:
        node.close()
    node = Node(settings)
    try:
        from osp.node.publish import remove_orphans

        remove_orphans(node.library, settings.media_dir)
        assert not [p for p in settings.media_dir.iterdir() if p.name.startswith(".staging-")]
        summary = import_paths(node, [folder.root], TrackMetadata())
        assert (summary.published, summary.already, summary.refused) == (3, 3, 7)
        assert len(node.library.tracks()) == 4
    finally:
        node.close()


def test_a_folder_without_audio_says_so_and_exits_0(tmp_path: Path) -> None:
    data, empty, notes = tmp_path / "data", tmp_path / "empty", tmp_path / "notes"
    osp(data, "id", "init")
    empty.mkdir()
    notes.mkdir()
    (notes / "cover.jpg").write_bytes(b"\xff\xd8\xff")  # a cover and a hidden file: no audio to try
    (notes / ".DS_Store").write_bytes(b"\x00")
    for folder in (empty, notes):
        run = osp(data, "import", str(folder))
        assert "0 published, 0 already published (skipped), 0 refused" in run.stdout, run.stdout
        assert f"no audio files found in {folder}" in run.stderr, run.stderr
    assert "no audio files" not in osp(data, "import", str(empty), "--json").stdout  # the hint is not data


def test_import_c2pa_sign_of_many_ogg_files_says_the_reason_once(tmp_path: Path, audio_files: dict[str, Path]) -> None:
    data, oggs = tmp_path / "data", tmp_path / "oggs"
    osp(data, "id", "init")
    ca = make_ca(tmp_path, "Good")
    c2pa_store(data).set_signer(ca.chain, ca.key)
    oggs.mkdir()
    for name, src in (("a.ogg", "ogg"), ("b.opus", "opus"), ("c.ogg", "ogg")):
        (oggs / name).write_bytes(audio_files[src].read_bytes())
    text = osp(data, "import", str(oggs), "--c2pa-sign", check=False)
    assert text.returncode == 2, text.stderr
    assert text.stderr.count("C2PA does not support Ogg") == 1, text.stderr  # the first file's line, then the count
    assert "refused: 3 Ogg/Opus files in all, each for that reason" in text.stderr, text.stderr
    lines = jsonl(osp(data, "import", str(oggs), "--c2pa-sign", "--json", check=False))
    assert [line["status"] for line in lines[:-1]] == ["refused"] * 3  # --json: one object per file
