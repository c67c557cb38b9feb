#!/usr/bin/env bash
# Install osp-node and start a node whose library holds real music: the three
# soundtrack pieces of Frozen-Bubble (Debian package frozen-bubble-data, GPL-2).
# Data lives in .demo/node-a unless OSP_DATA_DIR says otherwise. Ctrl-C stops the node.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
export OSP_DATA_DIR="${OSP_DATA_DIR:-$PWD/.demo/node-a}"
LISTEN="${OSP_LISTEN:-0.0.0.0:6881}"
[ -e "$OSP_DATA_DIR/identity/key.pem" ] || osp id init
osp publish /usr/share/games/frozen-bubble/snd/introzik.ogg \
  /usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg \
  /usr/share/games/frozen-bubble/snd/frozen-mainzik-2p.ogg \
  --artist-name "The Frozen-Bubble Team" --album "Frozen-Bubble" --license GPL-2.0-only \
  --tag game-music --tag soundtrack --released 2010-01-01 >/dev/null
# Read the whole listing (no `head`: a reader that quits early must not be what the
# demo depends on; osp itself exits 0 on a closed pipe).
listing=$(osp ls --json)
first=$(printf '%s\n' "$listing" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[0])["id"])')
# Start the node first (its default ports move to free ones when busy), then print
# commands with the URL it really serves on; Ctrl-C stops it and saves resume data.
osp node --listen "$LISTEN" ${OSP_HTTP:+--http "$OSP_HTTP"} ${OSP_CONTROL:+--control "$OSP_CONTROL"} \
  --allow-private-peers "$@" &
node_pid=$!
trap 'kill -INT "$node_pid" 2>/dev/null; wait "$node_pid"; exit 130' INT
trap 'kill -TERM "$node_pid" 2>/dev/null; wait "$node_pid"; exit 143' TERM
peer=""
for _ in $(seq 1 600); do  # at most 60 s
  kill -0 "$node_pid" 2>/dev/null || { wait "$node_pid"; exit $?; }
  peer=$(osp status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["http"])' 2>/dev/null) && break
  sleep 0.1
done
[ -n "$peer" ] || { echo "the node did not start within 60 s" >&2; kill "$node_pid"; exit 1; }
cat <<MSG

osp-node demo: $(printf '%s\n' "$listing" | grep -c .) real tracks in $OSP_DATA_DIR
$(osp ls)

From a second node (another terminal, another data directory):
  export PATH="$PWD/.venv/bin:\$PATH"
  osp --data-dir /tmp/node-b resolve $first --peer $peer
  osp --data-dir /tmp/node-b play    $first --peer $peer --listen 127.0.0.1:6891 --no-dht
  osp --data-dir /tmp/node-b get     $first --peer $peer --listen 127.0.0.1:6891 --no-dht -o track.ogg
Publish your own music into this node (it seeds at once):
  OSP_DATA_DIR=$OSP_DATA_DIR osp publish my-song.flac --title "My Song" --ai-generator "…" --prompt "…"
Ctrl-C stops the node.
MSG
wait "$node_pid"
