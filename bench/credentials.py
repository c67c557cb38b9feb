"""C2PA cost on publish (issue 10): what checking and signing a credential add to a publish.

    .venv/bin/python bench/credentials.py [--repeat N]

Real music (Frozen-Bubble's soundtrack, Debian frozen-bubble-data) as WAV (~40 MB) and MP3
(~4 MB), made by ffmpeg; a test CA made here (tests/c2pa_ca.py).  For each format, the median
of ``--repeat`` runs (3) of:

1. a publish without the C2PA stage (the baseline: probe, CID, torrent, record, store);
2. a publish with the check (what ``osp publish`` does: read the file's credential);
3. a publish with ``--c2pa-sign`` (sign a staged copy, check it, publish it);
4. ``read_credential`` alone on an unsigned and on a signed file (validation hashes it all).

Ratios are against (1), measured in the same run.  Bounded: a few files, no network.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from osp.identity import SigningKey  # noqa: E402
from osp.library import Library  # noqa: E402
from osp.node.credentials import PublishCredential  # noqa: E402
from osp.node.publish import TrackMetadata, publish_file  # noqa: E402
from osp.provenance.c2pa import read_credential, sign_file  # noqa: E402
from osp.provenance.c2pa_store import C2paStore  # noqa: E402
from tests.c2pa_ca import make_ca  # noqa: E402

MUSIC = Path("/usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg")
KEY = SigningKey.from_seed(bytes(range(32)))
MIME = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def measure(tmp: Path, ext: str, path: Path, store: C2paStore, repeat: int) -> dict[str, float]:
    """The figures of the module doc for one file."""
    n = [0]

    def publish(c2pa: PublishCredential | None) -> None:
        n[0] += 1
        with Library(tmp / f"{ext}-lib{n[0]}.sqlite3") as lib:  # a fresh library: every publish does all the work
            publish_file(path, TrackMetadata(provenance={"aiGenerated": True, "generator": "Bench"}), key=KEY,
                         library=lib, media_dir=tmp / f"{ext}-media{n[0]}", c2pa=c2pa)

    base = timed(lambda: publish(None), repeat)
    check = timed(lambda: publish(PublishCredential(store)), repeat)
    sign = timed(lambda: publish(PublishCredential(store, sign=True)), repeat)
    signed = tmp / f"signed.{ext}"
    chain, key = store.signer()
    sign_file(path, signed, MIME[ext], chain_pem=chain, key_pem=key, title="t", provenance={})
    anchors = store.anchors_pem()
    read_plain = timed(lambda: read_credential(path, MIME[ext], trust_anchors=anchors), repeat)
    read_signed = timed(lambda: read_credential(signed, MIME[ext], trust_anchors=anchors), repeat)
    mb = path.stat().st_size / 1e6
    return {"size MB": mb, "publish, no C2PA (s)": base, "publish + check (s)": check, "  ratio": check / base,
            "publish + sign + check (s)": sign, "  ratio ": sign / base, "read: unsigned file (ms)": read_plain * 1e3,
            "read: signed file (ms)": read_signed * 1e3, "read: signed, MB/s": mb / read_signed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        ca = make_ca(tmp, "Bench")
        store = C2paStore(tmp / "c2pa")
        store.set_signer(ca.chain, ca.key)
        store.trust_add(ca.root)
        files = {}
        for ext, codec in (("wav", ["-c:a", "pcm_s16le"]), ("mp3", ["-c:a", "libmp3lame", "-b:a", "128k"])):
            files[ext] = tmp / f"music.{ext}"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(MUSIC), *codec, str(files[ext])], check=True,
                           timeout=120)
        print(f"{'':<44}{'wav':>12}{'mp3':>12}")
        rows = {ext: measure(tmp, ext, path, store, args.repeat) for ext, path in files.items()}
        for key in rows["wav"]:
            print(f"{key:<44}" + "".join(f"{rows[e][key]:>12.3f}" for e in ("wav", "mp3")), flush=True)


if __name__ == "__main__":
    main()
