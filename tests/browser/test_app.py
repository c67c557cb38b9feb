"""The web app end to end: real ``osp node`` processes on a private DHT, Debian's Chromium
driven by Playwright (issue 9).

"mine" is the node the browser logs into; "remote" holds a track of its own that mine
finds over the DHT, fetches on demand and plays.  One node set and one browser serve the
whole module; each test opens its own logged-in context where it needs one.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.app_helpers import (
    AXE,
    DESKTOP,
    PHONE,
    AppPage,
    api,
    audio_state,
    axe_violations,
    drop_file,
    dumps,
    launch,
    open_app,
    until,
)
from tests.browser.chromium import CHROMIUM
from tests.conftest import need
from tests.integration.dht_cluster import Cluster, Member
from tests.integration.nodes import jsonl, osp

pytestmark = pytest.mark.interop

SHOTS = os.environ.get("OSP_SCREENSHOTS")  #: a folder: the axe pass saves each page's screenshot there (docs/)
REMOTE_TITLE = "Harbour Lights Webapp"
WATCH_PLAYER = """() => { window.__ev = []; const a = window.ospPlayer.audio; const t0 = performance.now();
  const log = (e) => window.__ev.push([Math.round(performance.now() - t0), e, a.currentTime, window.ospPlayer.status]);
  for (const e of ['waiting', 'stalled', 'playing', 'seeking', 'seeked', 'error', 'emptied', 'loadstart', 'canplay'])
    a.addEventListener(e, () => log(e));
  window.ospPlayer.addEventListener('status', () => log('status')); }"""  #: the player's events, for a failure's report
MY_TITLE = "Glacier Drift Webapp"
STEM_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, music: list[Path]) -> Iterator[dict[str, Any]]:
    """Four nodes on a private DHT (127.0.150-153.1, one /24 each as on the Internet): mine
    (0) and remote (3), whose track ``REMOTE_TITLE`` only the DHT can lead mine to."""
    need(Path(CHROMIUM).exists(), "chromium")
    pytest.importorskip("playwright.sync_api")
    with Cluster(tmp_path_factory.mktemp("webapp"), 4, base=150, identities=(0, 2, 3)) as cluster:
        cluster.wait_ready(min_nodes=2, timeout=45)
        remote = cluster[3]
        track = jsonl(osp(remote.data_dir, "publish", str(music[1]), "--title", REMOTE_TITLE,
                          "--tag", "harbourtest", "--json"))[0]
        yield {"mine": cluster[0], "remote": remote, "remote_track": track, "cluster": cluster}


@pytest.fixture(scope="module")
def browser(nodes: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def app(browser: Any, nodes: dict[str, Any]) -> Iterator[AppPage]:
    """One logged-in desktop page shared by the module's tests."""
    page = open_app(browser, nodes["mine"])
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def published(app: AppPage, nodes: dict[str, Any], music: list[Path]) -> dict[str, Any]:
    """Publish through the page: one file chosen with the file input (with title, tags and
    AI provenance), one dropped on the drop zone; returns both tracks' ids and share links."""
    mine: Member = nodes["mine"]
    page = app.page
    app.go("publish")
    page.set_input_files("[data-testid=file-input]", str(music[0]))
    page.fill("[data-testid=title]", MY_TITLE)
    page.fill("[data-testid=artist-name]", "Test Artist")
    page.select_option("[data-testid=license]", "CC-BY-4.0")
    page.fill("[data-testid=tags]", "ambient, webapptest")
    page.fill("[data-testid=generator]", "Test Generator")
    page.fill("[data-testid=model]", "tg-1")
    page.fill("[data-testid=prompt]", "slow glacier pads")
    page.fill("[data-testid=generator-version]", "2.1")
    page.check("[data-testid=human-none]")
    page.check("[data-testid=human-arrangement]")  # unchecks "none": it stands alone
    page.click("[data-testid=parent-add]")
    page.fill("[data-testid=parent-id]", nodes["remote_track"]["id"])
    page.select_option("[data-testid=parent-kind]", "samples")
    page.click("[data-testid=stem-add]")
    page.fill("[data-testid=stem-id]", STEM_CID)
    page.select_option("[data-testid=stem-kind]", "vocals")
    page.fill("[data-testid=seed]", "12x")
    page.click("[data-testid=publish]")  # checked before anything is uploaded
    app.wait_js("document.querySelector('[data-testid=publish-status]').textContent.startsWith('Seed:')")
    page.fill("[data-testid=seed]", "42")
    page.click("[data-testid=publish]")
    page.wait_for_selector("[data-testid=published-id]", timeout=45_000)
    first = page.text_content("[data-testid=published-id]")
    assert first and first.startswith("osp:track:"), first
    assert page.eval_on_selector("[data-testid=upload-progress]", "e => e.value") == 1
    share_shown = page.query_selector("[data-testid=published-share]")
    first_share = share_shown.get_attribute("href") if share_shown else None

    drop_file(app, "[data-testid=dropzone]", music[2])
    page.wait_for_selector("[data-testid=chosen-files] li")
    assert music[2].name in (page.text_content("[data-testid=chosen-files]") or "")
    page.fill("[data-testid=title]", "")
    page.click("[data-testid=publish]")
    app.wait_js(f"[...document.querySelectorAll('[data-testid=published-id]')].some(e => e.textContent !== {first!r})",
                timeout=45)
    second = page.text_content("[data-testid=published-id]")
    return {"id": first, "share": first_share, "dropped": second,
            "record": api(mine, "GET", f"/api/tracks/{first}")}


def test_login_link_lands_on_the_app_and_never_shows_the_token(browser: Any, nodes: dict[str, Any]) -> None:
    mine: Member = nodes["mine"]
    url = osp(mine.data_dir, "ui", "--print-url").stdout.strip().splitlines()[-1]
    assert url.startswith(f"{mine.control}/login?code="), url
    page = open_app(browser, mine, url=url, keep_bodies=True)
    try:
        assert page.page.url == f"{mine.control}/"  # the 303 took the code out of the address bar
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["osp_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict" and mine.token not in session["value"]
        page.wait_js("document.getElementById('node-status').textContent.includes('Node online')")
        for route in ("library", "transfers", "playlists", "following", "publish"):
            page.go(route)
        page.page.wait_for_timeout(300)  # the transfers poll and the header's request have answered
        assert mine.token not in page.page.content()
        assert page.page.evaluate("document.cookie") == ""  # HttpOnly: not readable by the page
        fetched = [u for u, _ in page.bodies]
        assert any("/api/node" in u for u in fetched) and any("/api/tracks" in u for u in fetched), fetched
        leaks = [u for u, body in page.bodies if mine.token.encode() in body]
        assert leaks == []
        assert page.csp_violations() == []
        # the link was good once: a second visit is refused
        again = page.page.goto(url)
        assert again is not None and again.status == 403
    finally:
        page.context.close()


def test_publish_through_the_page_shows_id_share_link_and_provenance(app: AppPage, published: dict[str, Any],
                                                                      nodes: dict[str, Any], music: list[Path]) -> None:
    summary = published["record"]
    record = summary["record"]
    assert record["title"] == MY_TITLE and record["license"] == "CC-BY-4.0" and record["artistName"] == "Test Artist"
    assert set(record["tags"]) >= {"ambient", "webapptest"}
    assert record["provenance"] == {
        "generator": {"name": "Test Generator", "version": "2.1"}, "model": "tg-1", "prompt": "slow glacier pads",
        "seed": 42, "aiGenerated": True, "digitalSourceType": "compositeWithTrainedAlgorithmicMedia",
        "humanContribution": ["arrangement"], "parents": [{"id": nodes["remote_track"]["id"], "relation": "samples"}],
        "stems": [{"cid": STEM_CID, "role": "vocals"}]}
    assert published["share"] == summary.get("share")  # shown exactly when the node has a share link
    dropped = api(nodes["mine"], "GET", f"/api/tracks/{published['dropped']}")
    assert dropped["record"]["size"] == music[2].stat().st_size and dropped["origin"] == "published"
    # the track page shows the record as text, provenance and verification included
    app.go(f"track/{published['id']}", "[data-testid=provenance]")
    text = app.page.text_content("main") or ""
    for expected in (MY_TITLE, "CC-BY-4.0", "Generator", "Test Generator 2.1", "Model", "tg-1", "Prompt",
                     "slow glacier pads", "Human contribution", "arrangement", record["cid"], "Signature valid",
                     "Human material combined with AI model output (IPTC: compositeWithTrainedAlgorithmicMedia)",
                     "Seed42", f"vocals: {STEM_CID}"):
        assert expected in text, expected
    parent = app.page.locator("[data-testid=provenance-parent] a")
    assert app.page.text_content("[data-testid=provenance-parent]") == f"Samples {nodes['remote_track']['id']}"
    assert parent.get_attribute("href") == f"#/track/{nodes['remote_track']['id'].replace(':', '%3A')}"
    assert "Content verified" in (app.page.text_content("[data-testid=verification]") or "")
    assert re.search(r"\d+:\d\d", app.page.text_content("main .facts") or "")  # the duration, m:ss


def result_ids(app: AppPage) -> list[str]:
    return list(app.page.eval_on_selector_all("[data-testid=results] [data-testid=track-card]",
                                              "cards => cards.map(c => c.dataset.id)"))


def search_page(app: AppPage, words: str, want: str, deadline: float = 45) -> str:
    """Type ``words`` in the search box, press Enter, and wait (re-searching until
    ``deadline``) for the result ``want``; returns the final status line."""
    def attempt() -> str | None:
        app.go("search", "[data-testid=search-input]")
        app.page.fill("[data-testid=search-input]", words)
        app.page.press("[data-testid=search-input]", "Enter")
        app.wait_js("/^\\d+ results?$/.test(document.querySelector('[data-testid=search-status]').textContent)", 20)
        return app.page.text_content("[data-testid=search-status]") if want in result_ids(app) else None

    return str(until(f"{want} found by searching {words!r}", attempt, deadline))


def test_search_finds_the_local_track_at_once_and_the_remote_one_over_the_dht(
        app: AppPage, published: dict[str, Any], nodes: dict[str, Any]) -> None:
    search_page(app, "glacier drift webapp", published["id"], deadline=10)
    card = app.page.locator(f"[data-testid=track-card][data-id='{published['id']}']")
    assert "in your library" in card.inner_text()
    assert app.page.url.endswith("#/search?q=glacier+drift+webapp")
    remote_id = nodes["remote_track"]["id"]
    status = search_page(app, "harbour lights webapp", remote_id)
    remote_card = app.page.locator(f"[data-testid=track-card][data-id='{remote_id}']")
    assert "on 1 node" in remote_card.inner_text() and "in your library" not in remote_card.inner_text()
    assert status.endswith("result") or status.endswith("results")
    # by tag, from a tag link
    app.go(f"track/{published['id']}", "[data-testid=provenance]")
    app.page.click("main .facts .tags a:text-is('webapptest')")
    app.wait_js("document.querySelector('main h1').textContent === 'Tag: webapptest'")
    app.page.wait_for_selector(f"[data-testid=track-card][data-id='{published['id']}']")


def playing(track_id: str, after: float = 0.3) -> str:
    """JS: the player plays ``track_id`` (its own stream) past ``after`` seconds."""
    return (f"window.ospPlayer.item && window.ospPlayer.item.id === {track_id!r} && !window.ospPlayer.audio.paused"
            f" && window.ospPlayer.audio.src.endsWith('/stream/' + encodeURIComponent({track_id!r}))"
            f" && window.ospPlayer.audio.currentTime > {after}")


TIME_CLICKS = """() => { window.__timing = {};
  document.addEventListener('click', (e) => {
    if (e.target.closest('[data-testid=play]')) window.__timing = {click: performance.now()};
  }, true);
  const a = window.ospPlayer.audio;
  a.addEventListener('playing', () => { window.__timing.playing ??= performance.now(); });
  a.addEventListener('seeking', () => { window.__timing.seeking = performance.now(); });
  a.addEventListener('seeked', () => { window.__timing.seeked = performance.now(); }); }"""
"""Times a Play click to the first ``playing`` event, and ``seeking`` to ``seeked`` (ms)."""


def play_and_seek(app: AppPage, track_id: str, duration: float, what: str) -> None:
    """After a Play click: the audio plays (``playing``, currentTime advances), then a seek
    to the middle through the seek slider lands near its target (``seeked``).  Prints the
    times from the click to ``playing`` and of the seek."""
    app.wait_js(playing(track_id), timeout=30)
    start = audio_state(app)["t"]
    app.wait_js(f"window.ospPlayer.audio.currentTime > {start + 0.3}", timeout=10)
    target = round(duration / 2)
    app.page.evaluate("""() => { window.__seeked = false;
        window.ospPlayer.audio.addEventListener('seeked', () => { window.__seeked = true; }, {once: true}); }""")
    app.page.fill("[data-testid=seek]", str(target))
    app.wait_js("window.__seeked === true", timeout=15)
    state = audio_state(app)
    assert abs(state["t"] - target) < 3, dumps(state)
    app.wait_js(f"window.ospPlayer.audio.currentTime > {target + 0.3}", timeout=15)  # it plays on from there
    t = app.page.evaluate("window.__timing")
    print(f"{what}: click → playing {t['playing'] - t['click']:.0f} ms, seek {t['seeked'] - t['seeking']:.0f} ms")
    label = app.page.get_attribute("[data-testid=seek]", "aria-valuetext") or ""
    assert re.fullmatch(r"\d+:\d\d of \d+:\d\d", label), label


def test_play_a_local_and_a_remote_track_and_seek(app: AppPage, published: dict[str, Any],
                                                  nodes: dict[str, Any]) -> None:
    app.go("library", "[data-testid=library]")
    row = app.page.locator(f"[data-testid=library] tr[data-id='{published['id']}']")
    app.page.evaluate(TIME_CLICKS)
    row.locator("[data-testid=play]").click()
    play_and_seek(app, published["id"], float(published["record"]["record"]["duration"]), "local track")
    assert (app.page.text_content("[data-testid=now-playing]") or "") == MY_TITLE
    app.page.click("[data-testid=play-pause]")
    app.wait_js("window.ospPlayer.audio.paused")
    # a track only the remote node has: fetched on demand, played while it downloads
    remote = nodes["remote_track"]
    search_page(app, "harbour lights webapp", remote["id"])
    app.page.locator(f"[data-testid=track-card][data-id='{remote['id']}'] [data-testid=play]").click()
    play_and_seek(app, remote["id"], float(remote["record"]["duration"]), "remote track (fetched on demand)")
    assert (app.page.text_content("[data-testid=now-playing]") or "") == REMOTE_TITLE
    assert any(t["id"] == remote["id"] for t in api(nodes["mine"], "GET", "/api/tracks")["tracks"])
    # Space plays and pauses when the focus is not in a field or on a control
    app.page.evaluate("document.activeElement.blur()")
    app.page.keyboard.press("Space")
    app.wait_js("window.ospPlayer.audio.paused")
    app.page.wait_for_selector("[data-testid=play-pause][aria-label=Play]")  # the button says what it will do
    app.page.keyboard.press("Space")
    app.wait_js("!window.ospPlayer.audio.paused")
    app.page.focus("[data-testid=search-input]")
    app.page.keyboard.press("Space")  # typed into the field: the player goes on
    assert not app.page.evaluate("window.ospPlayer.audio.paused")
    app.page.click("[data-testid=play-pause]")
    app.wait_js("window.ospPlayer.audio.paused")


def test_the_player_says_it_waits_for_peers_and_plays_on_when_the_peer_comes_back(
        app: AppPage, nodes: dict[str, Any], music: list[Path], tmp_path: Path) -> None:
    """A remote node seeding at 150 kB/s freezes (SIGSTOP) while we play its track: a seek
    past the downloaded part stalls, the player says so, and it plays on from the seek
    target once the peer is back (SIGCONT)."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    cluster: Cluster = nodes["cluster"]
    slow = cluster[2]
    slow.stop()
    cluster.spawn(slow, ["--upload-limit", "150000"])
    cluster.wait_started([slow], time.monotonic() + 30)
    audio = tmp_path / "stall.ogg"  # bytes no node has yet
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(music[2]), "-c:a", "libvorbis", "-q:a", "2", str(audio)],
                   check=True, timeout=60)
    track = jsonl(osp(slow.data_dir, "publish", str(audio), "--title", "Stall Test Webapp", "--json"))[0]
    search_page(app, "stall test webapp", track["id"])
    assert slow.proc is not None
    app.page.evaluate(WATCH_PLAYER)
    app.page.locator(f"[data-testid=track-card][data-id='{track['id']}'] [data-testid=play]").click()
    target = round(float(track["record"]["duration"]) * 0.85)
    try:
        app.wait_js(playing(track["id"]), timeout=30)
        os.kill(slow.proc.pid, signal.SIGSTOP)
        try:
            app.page.fill("[data-testid=seek]", str(target))
            app.wait_js("window.ospPlayer.status === 'waiting for peers'", timeout=15)
            assert "waiting for peers" in (app.page.text_content("[data-testid=player-status]") or "")
        finally:
            os.kill(slow.proc.pid, signal.SIGCONT)
        app.wait_js(f"window.ospPlayer.audio.currentTime > {target + 0.3}", timeout=30)
        assert abs(audio_state(app)["t"] - target) < 10
        app.wait_js("window.ospPlayer.status === ''", timeout=10)
    except Exception:
        print(dumps([audio_state(app), app.page.evaluate("window.__ev"), api(nodes["mine"], "GET", "/api/transfers")]))
        raise
    app.page.click("[data-testid=play-pause]")
    app.wait_js("window.ospPlayer.audio.paused")


def test_a_network_track_page_and_the_artist_network_catalog(app: AppPage, nodes: dict[str, Any],
                                                             tmp_path: Path, music: list[Path]) -> None:
    """A track only the remote node has: its artist page lists it under "On the network",
    its page says "not in your library" (the record resolved over the DHT) and Get
    downloads it, shown on the transfers page."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg")
    remote: Member = nodes["remote"]
    audio = tmp_path / "excerpt.ogg"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(music[0]), "-t", "20", "-c:a", "libvorbis", str(audio)],
                   check=True, timeout=60)
    track = jsonl(osp(remote.data_dir, "publish", str(audio), "--title", "Network Only Webapp", "--json"))[0]

    def listed() -> bool:
        app.go(f"artist/{track['artist']}", "[data-testid=follow]")
        app.wait_js("/^\\d+ results?$/.test(document.querySelector('[data-testid=network-status]').textContent)", 20)
        return bool(app.page.locator(f"[data-testid=network-catalog] [data-id='{track['id']}']").count() == 1)

    until("the artist's network catalog lists the new track", listed, 40)
    app.page.click(f"[data-testid=network-catalog] [data-id='{track['id']}'] a.title")
    app.page.wait_for_selector("[data-testid=not-in-library]", timeout=30_000)
    assert app.page.text_content("main h1") == "Network Only Webapp"
    assert app.page.text_content("[data-testid=cid]") == track["record"]["cid"]
    assert (app.page.text_content("[data-testid=verification]") or "").startswith("Signature valid, by did:key:")
    app.page.click("[data-testid=get]")
    app.page.wait_for_url(re.compile(r".*#/transfers$"))
    row = app.page.locator(f"[data-testid=transfers] tr[data-id='{track['id']}']")
    row.wait_for()
    until("complete", lambda: "complete" in row.inner_text() or "seeding" in row.inner_text(), 30)
    assert app.page.eval_on_selector(f"[data-testid=transfers] tr[data-id='{track['id']}'] progress", "p => p.value") == 1
    app.go(f"track/{track['id']}", "[data-testid=verification]")
    assert "Content verified" in (app.page.text_content("[data-testid=verification]") or "")


def test_the_player_reloads_a_broken_stream_with_backoff(app: AppPage, published: dict[str, Any]) -> None:
    """The first two ``/stream/`` requests fail (connection reset): the player says it is
    reconnecting, retries with backoff, and plays."""
    failed: list[str] = []

    def fail_twice(route: Any) -> None:
        if len(failed) < 2:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    app.go("library", "[data-testid=library]")
    app.page.evaluate(WATCH_PLAYER)
    app.page.route("**/stream/**", fail_twice)
    try:
        app.page.locator(f"[data-testid=library] tr[data-id='{published['id']}'] [data-testid=play]").click()
        app.wait_js(playing(published["id"]), timeout=30)
    finally:
        app.page.unroute("**/stream/**", fail_twice)
    statuses = [e[3] for e in app.page.evaluate("window.__ev") if e[1] == "status"]
    assert len(failed) == 2 and any(s.startswith("reconnecting") for s in statuses), dumps(statuses)
    assert app.page.evaluate("window.ospPlayer.status") == ""
    app.page.click("[data-testid=play-pause]")
    app.wait_js("window.ospPlayer.audio.paused")


def test_follow_and_unfollow_from_the_artist_page(app: AppPage, nodes: dict[str, Any]) -> None:
    mine: Member = nodes["mine"]
    did = nodes["remote_track"]["artist"]
    app.go(f"artist/{did}", "[data-testid=follow]")
    assert app.page.text_content("[data-testid=did]") == did
    assert app.page.text_content("[data-testid=follow]") == "Follow"
    app.page.click("[data-testid=follow]")
    app.page.wait_for_selector("[data-testid=follow]:text-is('Unfollow')")
    assert did in [f["did"] for f in api(mine, "GET", "/api/following")["following"]]
    app.go("following", "[data-testid=following]")
    assert app.page.locator(f"[data-testid=following] a[href='#/artist/{did.replace(':', '%3A')}']").count() == 1
    app.go(f"artist/{did}", "[data-testid=follow]:text-is('Unfollow')")
    app.page.click("[data-testid=follow]")
    app.page.wait_for_selector("[data-testid=follow]:text-is('Follow')")
    assert did not in [f["did"] for f in api(mine, "GET", "/api/following")["following"]]


def add_to_playlist(app: AppPage, track_id: str, playlist: str) -> None:
    app.go(f"track/{track_id}", "[data-testid=add-to-playlist]")
    app.page.click("[data-testid=add-to-playlist]")
    app.page.click(f".picker-list button:text-is('{playlist}')")
    app.page.wait_for_selector(".picker:not([open])")


def playlist_order(app: AppPage) -> list[str]:
    return list(app.page.eval_on_selector_all("[data-testid=playlist-tracks] > li", "lis => lis.map(l => l.dataset.id)"))


def test_playlists_create_add_reorder_and_survive_a_reload(app: AppPage, published: dict[str, Any],
                                                           nodes: dict[str, Any]) -> None:
    app.go("playlists", "[data-testid=new-playlist-name]")
    app.page.fill("[data-testid=new-playlist-name]", "Road trip")
    app.page.click("[data-testid=create-playlist]")
    app.page.wait_for_url(re.compile(r".*#/playlist/pl-.+"))
    playlist_url = app.page.url
    first, second = published["id"], published["dropped"]
    add_to_playlist(app, first, "Road trip")
    add_to_playlist(app, second, "Road trip")
    app.page.goto(playlist_url)
    app.page.wait_for_selector("[data-testid=playlist-tracks] > li >> nth=1")
    assert playlist_order(app) == [first, second]
    app.page.locator("[data-testid=playlist-tracks] > li").nth(0).get_by_role("button", name=re.compile("^Down: ")).click()
    app.wait_js(f"document.querySelector('[data-testid=playlist-tracks] > li').dataset.id === {second!r}")
    # the moved item keeps the focus (keyboard users keep their place)
    assert app.page.evaluate("document.activeElement.closest('li').dataset.id") == first
    until("saved", lambda: [p for p in api(nodes["mine"], "GET", "/api/playlists")["playlists"]
                            if p["name"] == "Road trip" and p["tracks"] == [second, first]], 10)
    app.page.reload()
    app.page.wait_for_selector("[data-testid=playlist-tracks] > li >> nth=1")
    assert playlist_order(app) == [second, first]
    assert app.page.text_content("main h1") == "Road trip"


AXE_PAGES = ["search?q=glacier", "track/{id}", "artist/{did}", "library", "transfers", "publish", "playlists",
             "queue", "following"]


@pytest.mark.parametrize(("viewport", "dark"), [(DESKTOP, False), (PHONE, False), (PHONE, True)],
                         ids=["desktop", "phone", "phone-dark"])
def test_axe_finds_no_serious_or_critical_violation(browser: Any, nodes: dict[str, Any], published: dict[str, Any],
                                                    viewport: dict[str, int], dark: bool) -> None:
    need(AXE.exists(), "axe-core in tests/js/node_modules (npm ci)")
    mine: Member = nodes["mine"]
    page = open_app(browser, mine, viewport, bypass_csp=True, dark=dark)  # axe is injected as a script: only here
    label = ("phone" if viewport == PHONE else "desktop") + ("-dark" if dark else "")
    found: dict[str, Any] = {}
    try:
        for route in AXE_PAGES:
            page.go(route.format(id=published["id"], did=nodes["remote_track"]["artist"]))
            if route.startswith("search"):
                page.wait_js("/^\\d+ results?$/.test(document.querySelector('[data-testid=search-status]').textContent)")
            page.page.wait_for_load_state("networkidle") if route != "transfers" else page.page.wait_for_timeout(500)
            if SHOTS:
                page.page.screenshot(path=str(Path(SHOTS) / f"{route.split('/')[0].split('?')[0]}-{label}.png"))
            violations = axe_violations(page)
            if violations:
                found[route] = violations
    finally:
        page.context.close()
    assert found == {}, dumps(found)


def test_phone_width_has_a_menu_and_no_sideways_scrolling(browser: Any, nodes: dict[str, Any],
                                                          published: dict[str, Any]) -> None:
    """At 360 px every page fits the width (no horizontal scrolling); the navigation folds
    into a Menu button that opens and closes it."""
    page = open_app(browser, nodes["mine"], {"width": 360, "height": 740})
    try:
        wide = {}
        for route in AXE_PAGES:
            page.go(route.format(id=published["id"], did=nodes["remote_track"]["artist"]))
            width = page.page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide[route] = width
        assert wide == {}
        nav_link = page.page.locator("#nav a[data-route=library]")
        assert not nav_link.is_visible()
        page.page.click("[data-testid=menu-toggle]")
        assert nav_link.is_visible() and page.page.get_attribute("[data-testid=menu-toggle]", "aria-expanded") == "true"
        nav_link.click()
        page.page.wait_for_selector("[data-testid=library]")
        assert not nav_link.is_visible() and page.page.get_attribute("[data-testid=menu-toggle]", "aria-expanded") == "false"
    finally:
        page.context.close()


def test_every_page_keeps_the_csp_and_logs_no_error(app: AppPage, published: dict[str, Any],
                                                    nodes: dict[str, Any]) -> None:
    """No CSP violation in the whole module's page (every test above used it), and no
    console error while visiting every page (earlier tests caused some on purpose)."""
    start = len(app.console)
    for route in AXE_PAGES:
        app.go(route.format(id=published["id"], did=nodes["remote_track"]["artist"]))
    app.go("queue")
    app.page.wait_for_timeout(300)
    assert app.csp_violations() == []
    errors = [m for m in app.console[start:] if m.startswith(("error", "pageerror"))]
    assert errors == [], errors
