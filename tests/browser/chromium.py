"""Facts about driving Debian's Chromium from Playwright for Python (design.md §7).

- Playwright launches ``/usr/bin/chromium`` through ``executable_path``: never a browser download.
- ``--no-sandbox``: the tests run as root; the rest keep the browser off the network.
- WebRTC on loopback: Chromium offers host candidates on 127.x only with
  ``--allow-loopback-in-peer-connection`` (``RTC_ARGS``) *and* a media permission for the
  page's origin (``context.grant_permissions(["microphone"], origin=...)``); libtorrent's
  offers carry no loopback candidates but connect to the browser's.
- WebTorrent: ``tracker: {rtcConfig: {iceServers: []}}`` so no public STUN host is asked.
"""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps"]
RTC_ARGS = [*CHROMIUM_ARGS, "--allow-loopback-in-peer-connection"]
