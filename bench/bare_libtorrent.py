"""Baseline for bench/run.py: two bare libtorrent sessions moving one file.

Usage: bare_libtorrent.py seed TORRENT DIR IP  → prints the port, seeds until stdin closes
       bare_libtorrent.py leech TORRENT DIR IP PEER_IP PEER_PORT → prints seconds taken
Only the benchmark's baseline imports libtorrent outside osp.distribution.engine.
"""

import sys
import time

import libtorrent as lt


def session(ip: str) -> lt.session:
    return lt.session({
        "listen_interfaces": f"{ip}:0", "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
    })


def add(ses: lt.session, torrent: str, save: str, seed: bool) -> lt.torrent_handle:
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save
    atp.flags &= ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    if seed:
        atp.flags |= lt.torrent_flags.seed_mode
    return ses.add_torrent(atp)


def main() -> None:
    mode, torrent, save, ip = sys.argv[1:5]
    ses = session(ip)
    handle = add(ses, torrent, save, mode == "seed")
    if mode == "seed":
        print(ses.listen_port(), flush=True)
        sys.stdin.read()
        return
    handle.connect_peer((sys.argv[5], int(sys.argv[6])))
    start = time.monotonic()
    deadline = start + 300
    while time.monotonic() < deadline:
        if handle.status().is_seeding:
            break
        time.sleep(0.01)
    print(f"{time.monotonic() - start:.4f}", flush=True)


if __name__ == "__main__":
    main()
