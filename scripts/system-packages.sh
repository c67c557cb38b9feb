#!/usr/bin/env bash
# Debian packages osp-node's demo and tests use: real music (frozen-bubble-data, GPL-2
# game soundtrack), ffmpeg (to make test files in every format), aria2 and
# transmission-cli (independent BitTorrent clients), chromium (WebTorrent in a real
# browser, driven by Playwright), iproute2 (ip netns and tc: the real-link harness in
# tests/netem), miniupnpd and nftables (the home router of tests/netem/test_home_router.py).
# Installs only what is missing;
# needs root or sudo.
set -euo pipefail
want=()
[ -e /usr/share/games/frozen-bubble/snd/introzik.ogg ] || want+=(frozen-bubble-data)
command -v fpcalc >/dev/null || want+=(libchromaprint-tools)  # Chromaprint: re-upload detection
if [ "${1:-}" = "test" ]; then
  command -v ffmpeg >/dev/null || want+=(ffmpeg)
  command -v node >/dev/null || want+=(nodejs npm)
  command -v aria2c >/dev/null || want+=(aria2)
  command -v transmission-cli >/dev/null || want+=(transmission-cli)
  command -v chromium >/dev/null || want+=(chromium)
  { command -v ip && command -v tc; } >/dev/null || want+=(iproute2)
  { command -v miniupnpd || [ -x /usr/sbin/miniupnpd ]; } >/dev/null || want+=(miniupnpd)
  { command -v nft || [ -x /usr/sbin/nft ]; } >/dev/null || want+=(nftables)
  command -v fluidsynth >/dev/null || want+=(fluidsynth)  # renders the test set's MIDI (known tempo and key)
  [ -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || want+=(fluid-soundfont-gm)
  [ -d /usr/share/games/pingus/data/music ] || want+=(pingus-data)  # unrelated real music: fingerprint precision
fi
[ ${#want[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "please install as root: apt-get install ${want[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
