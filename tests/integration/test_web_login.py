"""The web app's login and session on a real node's control listener (issue 9): the
one-time login link, the session cookie, CSRF and the pages served without a session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from osp.apps.http import NodeServer
from osp.apps.http.credentials import session_value
from osp.apps.http.guard import CSP
from osp.apps.web.routes import static_dir
from tests.integration.nodes import jsonl, node_server, osp

NOW = [time.time()]  # the node's clock: tests move it to expire codes and cookies


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeServer]:
    with node_server(tmp_path_factory.mktemp("web-login"), "127.0.0.41", clock=lambda: NOW[0]) as server:
        yield server


def bearer(srv: NodeServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {srv.token}"}


def login_link(srv: NodeServer) -> dict[str, object]:
    resp = httpx.post(f"{srv.control_url}/api/login-link", json={}, headers=bearer(srv))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def log_in(srv: NodeServer) -> str:
    """The session cookie's value, through a fresh login link."""
    resp = httpx.get(str(login_link(srv)["url"]))
    assert resp.status_code == 303, resp.text
    return resp.cookies["osp_session"]


def cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"osp_session={value}"}


def test_login_link_is_single_use_and_becomes_an_httponly_strict_cookie(srv: NodeServer) -> None:
    link = login_link(srv)
    url = str(link["url"])
    assert url.startswith(f"{srv.control_url}/login?code=") and len(url.split("code=", 1)[1]) >= 40
    assert link["expires"] == int(NOW[0] + 120)
    resp = httpx.get(url)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    set_cookie = resp.headers["set-cookie"]
    attrs = [a.strip() for a in set_cookie.split(";")]
    assert attrs[0].startswith("osp_session=") and len(attrs[0]) > 30
    assert {"HttpOnly", "SameSite=Strict", "Path=/", f"Max-Age={30 * 24 * 3600}"} <= set(attrs[1:])
    assert srv.token not in set_cookie
    assert resp.headers["referrer-policy"] == "no-referrer" and resp.headers["content-security-policy"] == CSP
    again = httpx.get(url)  # used up
    assert again.status_code == 403 and "set-cookie" not in again.headers
    assert again.headers["content-type"].startswith("text/html") and again.headers["content-security-policy"] == CSP
    assert "expired or was already used" in again.text and "osp ui" in again.text
    forged = httpx.get(f"{srv.control_url}/login?code={'A' * 43}")
    assert forged.status_code == 403 and "expired or was already used" in forged.text
    assert httpx.get(f"{srv.control_url}/login").status_code == 403


def test_a_head_request_does_not_use_the_code_up(srv: NodeServer) -> None:
    url = str(login_link(srv)["url"])
    assert httpx.head(url).status_code == 200
    assert httpx.get(url).status_code == 303


def test_login_codes_expire_after_two_minutes(srv: NodeServer) -> None:
    first, second = str(login_link(srv)["url"]), str(login_link(srv)["url"])
    saved = NOW[0]
    try:
        NOW[0] = saved + 119
        assert httpx.get(first).status_code == 303
        NOW[0] = saved + 120
        assert httpx.get(second).status_code == 403
    finally:
        NOW[0] = saved


def test_the_cookie_authenticates_gets_and_same_origin_posts_only(srv: NodeServer) -> None:
    session = log_in(srv)
    origin = {"Origin": srv.control_url}
    assert httpx.get(f"{srv.control_url}/api/tracks", headers=cookie(session)).status_code == 200
    body = {"track": "osp:track:x"}
    ok = httpx.post(f"{srv.control_url}/api/stream-url", json=body, headers={**cookie(session), **origin})
    assert ok.status_code == 200 and ok.json()["url"].startswith("/stream/osp:track:x?t=")
    no_origin = httpx.post(f"{srv.control_url}/api/stream-url", json=body, headers=cookie(session))
    assert no_origin.status_code == 403 and no_origin.json()["message"] == "the Origin header is required"
    for foreign in ("http://127.0.0.1:1", "http://localhost:" + srv.control_url.rsplit(":", 1)[1], "null"):
        resp = httpx.post(f"{srv.control_url}/api/stream-url", json=body, headers={**cookie(session), "Origin": foreign})
        assert resp.status_code == 403, foreign
    delete = httpx.delete(f"{srv.control_url}/api/follow/did:key:z6Mkx", headers=cookie(session))
    assert delete.status_code == 403  # DELETE is not GET/HEAD: Origin required too
    # a page of another port on the same host is "same-site": the cookie alone is not enough
    for site in ("same-site", "cross-site"):
        resp = httpx.get(f"{srv.control_url}/api/tracks", headers={**cookie(session), "Sec-Fetch-Site": site})
        assert resp.status_code == 401, site
    assert httpx.get(f"{srv.control_url}/api/tracks",
                     headers={**cookie(session), "Sec-Fetch-Site": "same-origin"}).status_code == 200
    # the page cannot mint login links; the bearer token (the CLI, no Origin) still works everywhere
    minted = httpx.post(f"{srv.control_url}/api/login-link", json={}, headers={**cookie(session), **origin})
    assert minted.status_code == 403
    assert httpx.post(f"{srv.control_url}/api/stream-url", json=body, headers=bearer(srv)).status_code == 200
    # JSON bodies only, cookie or not
    form = httpx.post(f"{srv.control_url}/api/stream-url", content=b"track=x",
                      headers={**cookie(session), **origin, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415


def test_forged_foreign_and_expired_cookies_are_refused(srv: NodeServer) -> None:
    for value in ("", "x", f"{int(NOW[0]) + 60}.AAAA", session_value("another node's token " * 2, NOW[0])):
        assert httpx.get(f"{srv.control_url}/api/tracks", headers=cookie(value)).status_code == 401, value
    session = log_in(srv)
    saved = NOW[0]
    try:
        NOW[0] = saved + 30 * 24 * 3600 - 1
        assert httpx.get(f"{srv.control_url}/api/tracks", headers=cookie(session)).status_code == 200
        NOW[0] = saved + 30 * 24 * 3600
        assert httpx.get(f"{srv.control_url}/api/tracks", headers=cookie(session)).status_code == 401
    finally:
        NOW[0] = saved


def test_login_keeps_the_host_check(srv: NodeServer) -> None:
    url = str(login_link(srv)["url"])
    port = srv.control_url.rsplit(":", 1)[1]
    for host in (f"evil.example:{port}", "127.0.0.1:1", f"osp.localhost.evil.example:{port}"):
        resp = httpx.get(url, headers={"Host": host})
        assert resp.status_code == 403 and "set-cookie" not in resp.headers, host
    assert httpx.get(url).status_code == 303  # the refused tries did not use the code up


def test_without_a_session_pages_say_how_to_open_the_app(srv: NodeServer) -> None:
    for path, headers in (("/", {}), ("/app/index.html", {"Accept": "text/html"}),
                          ("/api/tracks", {"Sec-Fetch-Dest": "document"})):
        page = httpx.get(f"{srv.control_url}{path}", headers=headers)
        assert page.status_code == 401 and page.headers["content-type"].startswith("text/html"), path
        assert "Open the app with <code>osp ui</code>" in page.text
        assert page.headers["content-security-policy"] == CSP and srv.token not in page.text
    api = httpx.get(f"{srv.control_url}/api/tracks")
    assert api.status_code == 401 and api.json()["error"] == "unauthorized"


def test_logout_clears_the_cookie(srv: NodeServer) -> None:
    session = log_in(srv)
    resp = httpx.post(f"{srv.control_url}/api/logout", json={},
                      headers={**cookie(session), "Origin": srv.control_url})
    assert resp.status_code == 200 and resp.json() == {"loggedOut": True}
    attrs = [a.strip() for a in resp.headers["set-cookie"].split(";")]
    assert attrs[0] == "osp_session=" and "Max-Age=0" in attrs and "HttpOnly" in attrs


def test_the_app_is_served_with_its_mime_types_and_the_csp(srv: NodeServer) -> None:
    session = log_in(srv)
    index = httpx.get(f"{srv.control_url}/", headers=cookie(session))
    assert index.status_code == 200 and index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.text == (static_dir("app") / "index.html").read_text("utf-8")
    assert index.headers["content-security-policy"] == CSP and index.headers["cache-control"] == "no-cache"
    assert index.headers["x-content-type-options"] == "nosniff"
    expected = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    seen: set[str] = set()
    for path in sorted(static_dir("app").rglob("*")):
        if path.suffix not in expected or not path.is_file():
            continue
        rel = path.relative_to(static_dir("app")).as_posix()
        resp = httpx.get(f"{srv.control_url}/app/{rel}", headers=cookie(session))
        assert resp.status_code == 200 and resp.content == path.read_bytes(), rel
        assert resp.headers["content-type"] == expected[path.suffix], rel
        assert resp.headers["content-security-policy"] == CSP, rel
        seen.add(path.suffix)
    assert {".js", ".css"} <= seen  # the app has both
    api = httpx.get(f"{srv.control_url}/api/tracks", headers=cookie(session))
    assert api.headers["cache-control"] == "no-store"
    for bad in ("/app/", "/app/../credentials.py", "/app/%2e%2e/routes.py", "/app/nope.js"):
        assert httpx.get(f"{srv.control_url}{bad}", headers=cookie(session)).status_code == 404, bad
    assert httpx.get(f"{srv.control_url}/app/index.html").status_code == 401  # assets need the session too


def test_the_bearer_token_is_never_accepted_from_a_cookie_or_query(srv: NodeServer, tmp_path: Path) -> None:
    assert httpx.get(f"{srv.control_url}/api/tracks", headers=cookie(srv.token)).status_code == 401
    assert httpx.get(f"{srv.control_url}/api/tracks?t={srv.token}").status_code == 401


def test_osp_ui_prints_or_opens_a_one_time_link(srv: NodeServer, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    data = srv.node.settings.data_dir
    printed = osp(data, "ui", "--print-url").stdout.strip()
    assert printed.startswith(f"{srv.control_url}/login?code=") and srv.token not in printed
    (answer,) = jsonl(osp(data, "ui", "--json"))
    assert set(answer) == {"url", "expires"} and answer["expires"] == int(NOW[0] + 120)
    for url in (printed, answer["url"]):
        assert httpx.get(url).status_code == 303 and httpx.get(url).status_code == 403
    seen = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf %s "$1" > {seen}\n')
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(browser))
    proc = osp(data, "ui")
    assert proc.stdout == "" and "opened the web app" in proc.stderr
    opened = seen.read_text()
    assert opened.startswith(f"{srv.control_url}/login?code=") and httpx.get(opened).status_code == 303


def test_osp_ui_without_a_node_says_so(tmp_path: Path) -> None:
    proc = osp(tmp_path / "data", "ui", "--print-url", check=False)
    assert proc.returncode == 2 and "no node is running" in proc.stderr and proc.stdout == ""
