"""Helpers for the web app's end-to-end tests: real ``osp node`` processes, a login through
the one-time link, and a Playwright page that records what could betray the app (CSP
violations, console errors, every response body the page fetched).

Facts these helpers keep (measured on these machines):
- The login link is redeemed by a plain navigation; its 303 sets ``osp_session``
  (``HttpOnly``, ``SameSite=Strict``) for the control origin and lands on ``/``.
- CSP violations are caught by a ``securitypolicyviolation`` listener added with
  ``add_init_script`` (init scripts are not subject to the page's CSP) and by the console.
- axe-core is injected as a script tag, which the app's CSP refuses: the axe pass uses a
  context made with ``bypass_csp=True`` (and only that pass).
- Chromium on loopback plays ``/stream/`` audio headless; the page's first click gives it
  the user activation autoplay needs.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.integration.dht_cluster import Member

JS = Path(__file__).resolve().parent.parent / "js" / "node_modules"
AXE = JS / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")  #: axe impacts that fail a page

# Records CSP violations from the first script on; runs before the app's own scripts.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def api(node: Member, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
    """The control API with the bearer token (what the CLI uses): JSON in, JSON out."""
    resp = httpx.request(method, node.control + path, json=body, timeout=timeout,
                         headers={"Authorization": f"Bearer {node.token}"})
    resp.raise_for_status()
    return resp.json()


def login_url(node: Member) -> str:
    """A fresh one-time login link (``POST /api/login-link``, bearer token)."""
    return str(api(node, "POST", "/api/login-link", {})["url"])


@contextmanager
def served_with_browser(node: Any) -> Iterator[tuple[Any, Any]]:
    """``(NodeServer, Chromium browser)`` for an in-process ``node``: its listeners served on a
    thread (ready within 30 s) and a launched browser; both closed on every exit path."""
    from playwright.sync_api import sync_playwright

    from osp.apps.http import NodeServer

    srv = NodeServer(node)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        assert srv.ready.wait(30), "node did not start within 30 s"
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                yield srv, browser
            finally:
                browser.close()
    finally:
        srv.stop()
        thread.join(30)


def launch(pw: Any) -> Any:
    """Debian's Chromium, headless (never a browser download)."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@dataclass
class AppPage:
    """A logged-in page of the app and what it saw."""

    context: Any
    page: Any
    base: str
    console: list[str] = field(default_factory=list)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)

    def go(self, route: str, ready: str = "main h1") -> None:
        """Open ``#/route`` and wait for ``ready`` (a selector)."""
        self.page.goto(f"{self.base}/#/{route}")
        self.page.wait_for_selector(ready)

    def csp_violations(self) -> list[str]:
        """What the page's CSP blocked (listener + console), since the page loaded."""
        seen = list(self.page.evaluate("window.__cspViolations || []"))
        return seen + [m for m in self.console if "Content Security Policy" in m]

    def wait_js(self, expression: str, timeout: float = 30) -> Any:
        """Poll a JS expression until truthy (``timeout`` seconds). Given as a function:
        Playwright evaluates a bare expression string with ``eval``, which the app's CSP refuses."""
        return self.page.wait_for_function(f"() => Boolean({expression})", timeout=timeout * 1000)


def open_app(browser: Any, node: Member, viewport: dict[str, int] | None = None, url: str | None = None,
             bypass_csp: bool = False, keep_bodies: bool = False, dark: bool = False) -> AppPage:
    """A new context logged in through a login link (``url``, else a fresh one); the page
    lands on the app. ``keep_bodies``: record every response body the page fetched;
    ``dark``: the browser prefers a dark color scheme."""
    context = browser.new_context(viewport=viewport or DESKTOP, bypass_csp=bypass_csp,
                                  color_scheme="dark" if dark else "light")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    app = AppPage(context, page, node.control)
    page.on("console", lambda m: app.console.append(f"{m.type}: {m.text} [{m.location.get('url', '')}]"))
    page.on("pageerror", lambda e: app.console.append(f"pageerror: {e}"))
    if keep_bodies:
        def keep(response: Any) -> None:
            try:
                app.bodies.append((response.url, response.body()))
            except Exception:  # noqa: BLE001 - a streamed or aborted body: nothing to read
                app.bodies.append((response.url, b""))
        page.on("response", keep)
    page.goto(url or login_url(node))
    page.wait_for_selector("#player .controls")
    page.wait_for_selector("main h1")
    return app


def drop_file(app: AppPage, selector: str, path: Path, mime: str = "audio/ogg") -> None:
    """Drop ``path`` on ``selector`` as a real drag and drop would: a ``drop`` event whose
    DataTransfer holds the file."""
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = app.page.evaluate_handle(
        """([b64, name, mime]) => {
            const bin = atob(b64);
            const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: mime }));
            return dt;
        }""", [data, path.name, mime])
    app.page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    app.page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def axe_violations(app: AppPage) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page (needs ``bypass_csp``)."""
    if not app.page.evaluate("typeof window.axe !== 'undefined'"):
        app.page.add_script_tag(content=AXE.read_text())
    found = app.page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in found if v["impact"] in BLOCKING]


def until(what: str, check: Callable[[], Any], deadline: float) -> Any:
    """Poll ``check`` until it returns something truthy (``deadline`` seconds)."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline:g} s")
        time.sleep(0.5)


def audio_state(app: AppPage) -> dict[str, Any]:
    """The player's audio element: currentTime, paused, duration, readyState, src, error."""
    return dict(app.page.evaluate("""() => { const a = window.ospPlayer.audio;
        return {t: a.currentTime, paused: a.paused, d: a.duration, ready: a.readyState, src: a.src,
                error: a.error ? a.error.code : null, status: window.ospPlayer.status}; }"""))


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1)[:3000]
