"""Web benchmarks (issue 9): play in the web app and on the share page, in headless Chromium.

    .venv/bin/python bench/web.py [--runs 5]

Four real ``osp node`` processes on a private DHT on loopback (``tests/integration/
dht_cluster.py``): the *listener* (member 0, whose web app Chromium opens through a
one-time login link) and the *remote* node (member 3), which publishes a real music file
(Ogg Vorbis, 2.3 MB).  Debian's Chromium through Playwright, as in the tests.

1. **App, remote track** — the listener does not hold the track: search for it (the
   result streams in from the network), then time a click on the result's Play button to
   the first audible frame (the ``playing`` event and then ``currentTime > 0``); then a
   seek to the middle through the seek slider (``seeking`` → ``seeked``).  Before each run
   the listener removes the track (``POST /api/remove``), so every run fetches it again.
2. **App, local track** (the baseline, same run) — the same clicks once the track is in
   the listener's library.
3. **Share page** (``/t/{id}`` on the remote node's share listener, a fresh browser
   context each run): navigation start to first audio (``window.ospShare.firstAudioAt``:
   ``playing`` and ``currentTime > 0``) with WebTorrent fed by the node over WebRTC and by
   the web seed, and with ``?webseed=0`` (WebRTC from the node's libtorrent only).
4. **Baseline for 3** — a plain ``<audio>`` on the share origin pointed at the web seed URL
   (``/ipfs/{cid}`` on the peer listener, no WebTorrent): element creation to first audio.

Median (and min–max) of ``--runs``; ratios against the baselines of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.app_helpers import AppPage, api, launch, open_app  # noqa: E402
from tests.browser.chromium import CHROMIUM, RTC_ARGS  # noqa: E402
from tests.integration.dht_cluster import Cluster  # noqa: E402
from tests.integration.nodes import jsonl, osp  # noqa: E402

MUSIC = Path("/usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg")
WORD = "benchglacier"

WATCH = """() => { window.__t = {};
  document.addEventListener('click', (e) => {
    if (e.target.closest('[data-testid=play]')) window.__t = {click: performance.now()};
  }, true);
  const a = window.ospPlayer.audio;
  a.addEventListener('playing', () => { window.__t.playing ??= performance.now(); });
  a.addEventListener('timeupdate', () => {
    if (window.__t.playing && a.currentTime > 0) window.__t.audible ??= performance.now(); });
  a.addEventListener('seeking', () => { window.__t.seeking = performance.now(); });
  a.addEventListener('seeked', () => { window.__t.seeked = performance.now(); }); }"""


def fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):7.0f} ms  ({min(values):.0f}–{max(values):.0f})"


def wait(app: AppPage, expression: str, timeout: float = 30) -> None:
    app.wait_js(expression, timeout)


def play_and_seek(app: AppPage, track_id: str, duration: float) -> tuple[float, float, float]:
    """Click Play on ``track_id``'s card (already on the page); ms to ``playing``, ms to
    audible (``currentTime > 0`` seen by the next ``timeupdate``: up to 250 ms later, the
    element's 4 Hz cadence), ms of the seek."""
    app.page.evaluate(WATCH)
    app.page.locator(f"[data-testid=track-card][data-id='{track_id}'] [data-testid=play]").first.click()
    wait(app, "window.__t.audible")
    wait(app, "window.ospPlayer.audio.currentTime > 0.5", 15)
    app.page.fill("[data-testid=seek]", str(round(duration / 2)))
    wait(app, "window.__t.seeked", 15)
    t = app.page.evaluate("window.__t")
    app.page.click("[data-testid=play-pause]")
    wait(app, "window.ospPlayer.audio.paused", 10)
    return t["playing"] - t["click"], t["audible"] - t["click"], t["seeked"] - t["seeking"]


def search_for(app: AppPage, track_id: str, deadline: float = 45) -> None:
    """Search ``WORD`` until ``track_id``'s card shows (the DHT may need a moment)."""
    end = time.monotonic() + deadline
    while True:
        app.go("search", "[data-testid=search-input]")
        app.page.fill("[data-testid=search-input]", WORD)
        app.page.press("[data-testid=search-input]", "Enter")
        try:
            app.page.wait_for_selector(f"[data-testid=track-card][data-id='{track_id}']", timeout=10_000)
            return
        except Exception:  # noqa: BLE001 - not yet announced: search again
            if time.monotonic() > end:
                raise


def share_first_audio(browser: Any, base: str, track_id: str, query: str = "") -> float:
    context = browser.new_context()
    try:
        context.grant_permissions(["microphone"], origin=base)  # host candidates for WebRTC on loopback
        page = context.new_page()
        page.goto(f"{base}/t/{track_id}{query}")
        page.wait_for_function("() => window.ospShare && (window.ospShare.error || window.ospShare.firstAudioAt)",
                               timeout=45_000)
        state = page.evaluate("() => ({error: window.ospShare.error, first: window.ospShare.firstAudioAt})")
        if state["error"]:
            raise RuntimeError(f"share page: {state['error']}")
        return float(state["first"])
    finally:
        context.close()


def plain_audio(browser: Any, base: str, url: str) -> float:
    """A plain ``<audio>`` on the share origin (its CSP bypassed: the page itself would not
    load media from another origin) playing ``url`` (no WebTorrent): ms to audible."""
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{base}/config.json")
        return float(page.evaluate("""(url) => new Promise((resolve, reject) => {
            const a = new Audio(); const t0 = performance.now(); let playing = false;
            a.addEventListener('playing', () => { playing = true; });
            a.addEventListener('timeupdate', () => { if (playing && a.currentTime > 0) resolve(performance.now() - t0); });
            a.addEventListener('error', () => reject(new Error('audio error')));
            a.src = url; a.play().catch(reject); })""", url))
    finally:
        context.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists() or not MUSIC.exists():
        sys.exit(f"needs {CHROMIUM} and {MUSIC}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="osp-bench-web-") as tmp, \
            Cluster(Path(tmp), 4, base=170, identities=(3,)) as cluster, sync_playwright() as pw:
        cluster.wait_ready(min_nodes=2, timeout=60)
        listener, remote = cluster[0], cluster[3]
        track = jsonl(osp(remote.data_dir, "publish", str(MUSIC), "--title", f"{WORD} bench", "--json"))[0]
        track_id, duration = track["id"], float(track["record"]["duration"])
        share = json.loads((remote.data_dir / "node.json").read_text())["share"]
        print(f"track {track_id} ({MUSIC.stat().st_size / 1e6:.1f} MB, {duration:.0f} s); "
              f"listener {listener.ip}, remote {remote.ip}; {args.runs} runs\n", flush=True)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=RTC_ARGS, headless=True)
        app_browser = launch(pw)
        figures: dict[str, list[float]] = {k: [] for k in (
            "remote_playing", "remote_play", "remote_seek", "local_playing", "local_play", "local_seek", "share", "share_rtc", "plain")}
        try:
            app = open_app(app_browser, listener)
            for run in range(args.runs):
                if run:  # from the second run on, the listener holds the track: drop it, fetch it again
                    api(listener, "POST", "/api/remove", {"track": track_id})
                search_for(app, track_id)
                playing, play, seek = play_and_seek(app, track_id, duration)
                figures["remote_playing"].append(playing)
                figures["remote_play"].append(play)
                figures["remote_seek"].append(seek)
                deadline = time.monotonic() + 60
                while api(listener, "GET", f"/api/tracks/{track_id}")["verification"]["content"] != "verified":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the remote track did not complete in 60 s")
                    time.sleep(0.2)
                search_for(app, track_id)
                playing, play, seek = play_and_seek(app, track_id, duration)
                figures["local_playing"].append(playing)
                figures["local_play"].append(play)
                figures["local_seek"].append(seek)
                figures["share"].append(share_first_audio(browser, share, track_id))
                figures["share_rtc"].append(share_first_audio(browser, share, track_id, "?webseed=0"))
                figures["plain"].append(plain_audio(browser, share, f"{remote.http}/ipfs/{track['cid']}"))
                print(f"  run {run + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in figures.items()), flush=True)
        finally:
            browser.close()
            app_browser.close()

    med = {k: statistics.median(v) for k, v in figures.items()}
    print("\nWeb app (/stream/, click → first audible frame; target < 300 ms with the track on a remote node)")
    print(f"  remote track, click → playing      {fmt(figures['remote_playing'])}   ×{med['remote_playing'] / med['local_playing']:.2f} of local")
    print(f"  remote track, click → audible      {fmt(figures['remote_play'])}   ×{med['remote_play'] / med['local_play']:.2f} of local")
    print(f"  remote track, seek                 {fmt(figures['remote_seek'])}")
    print(f"  local track (baseline), click → playing {fmt(figures['local_playing'])}")
    print(f"  local track (baseline), click → audible {fmt(figures['local_play'])}")
    print(f"  local track (baseline), seek       {fmt(figures['local_seek'])}")
    print("Share page (navigation → first audio; target < 1.5 s in WebTorrent mode)")
    print(f"  WebTorrent: node over WebRTC + web seed {fmt(figures['share'])}   ×{med['share'] / med['plain']:.2f} of plain <audio>")
    print(f"  WebTorrent: node over WebRTC only  {fmt(figures['share_rtc'])}   ×{med['share_rtc'] / med['plain']:.2f} of plain <audio>")
    print(f"  plain <audio> from the web seed (baseline) {fmt(figures['plain'])}")


if __name__ == "__main__":
    main()
