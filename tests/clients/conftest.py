"""Real headless Chromium (driven over the DevTools protocol) against a real Footfall server.

A tiny page server on 127.0.0.1 hosts the test pages; its origin is on the project's allowlist.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

from tests.support.server import Server, cli

Event = dict[str, Any]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class CdpError(RuntimeError):
    pass


class Browser:
    """One headless Chromium; `tab()` opens a page in a fresh browser context (own storage)."""

    def __init__(self, executable: str, profile: Path, prefs: dict[str, Any] | None = None) -> None:
        (profile / "Default").mkdir(parents=True, exist_ok=True)
        if prefs:
            (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
        self._log = (profile.parent / f"{profile.name}-chromium.log").open("wb")
        self.proc = subprocess.Popen(
            [
                executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.listeners: dict[str, Callable[[Event], None]] = {}
        self.error: Exception | None = None
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"chromium did not start (exit {self.proc.returncode})")
            time.sleep(0.05)  # waiting for the browser to come up, not test synchronisation
        port, path = port_file.read_text().splitlines()[:2]
        from websockets.sync.client import connect  # a uvicorn[standard] dependency

        self._stack = contextlib.ExitStack()
        # No keepalive pings: their payload comes from the global `random`, and a ping from this
        # background thread during a hypothesis draw elsewhere in the suite fails that test as
        # "random used inside a strategy". A local pipe to our own browser needs no keepalive.
        self.ws: ClientConnection = self._stack.enter_context(
            connect(f"ws://127.0.0.1:{port}{path}", max_size=None, ping_interval=None)
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        fut = self._pending.pop(msg["id"], None)
                    if fut is not None:
                        fut.set_result(msg)
                elif listener := self.listeners.get(msg.get("sessionId", "")):
                    listener(msg)
        except Exception as exc:  # reported by the next send()
            self.error = exc
        finally:
            with self._lock:
                pending, self._pending = self._pending, {}
            for fut in pending.values():
                fut.set_exception(CdpError("connection to chromium closed"))

    def post(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> Future[dict[str, Any]]:
        """Send a command without waiting (safe from the reader thread, e.g. in a listener)."""
        if self.error is not None:
            raise CdpError(f"connection to chromium lost: {self.error!r}")
        msg: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut: Future[dict[str, Any]] = Future()
        with self._lock:
            self._pending[msg["id"]] = fut
        self.ws.send(json.dumps(msg))
        return fut

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        reply = self.post(method, params, session).result(30)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def tab(self, init_script: str | None = None) -> Tab:
        context = self.send("Target.createBrowserContext")["browserContextId"]
        target = self.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})
        session = self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        return Tab(self, context, target["targetId"], session["sessionId"], init_script)

    def close(self) -> None:
        try:
            if hasattr(self, "_stack"):
                self._stack.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            self._log.close()


class Tab:
    """A page: navigate, evaluate, see its requests (beacons included), close it."""

    def __init__(self, browser: Browser, context: str, target: str, session: str,
                 init_script: str | None) -> None:
        self.browser, self.context, self.target, self.session = browser, context, target, session
        self.events: list[Event] = []
        self.on_paused: Callable[[Event], None] | None = None  # Fetch.requestPaused handler
        self._cond = threading.Condition()
        self.closed = False
        browser.listeners[session] = self._on_event
        for method in ("Page.enable", "Network.enable", "Runtime.enable"):
            self.send(method)
        if init_script:
            self.send("Page.addScriptToEvaluateOnNewDocument", {"source": init_script})

    def _on_event(self, msg: Event) -> None:
        if msg["method"] == "Fetch.requestPaused" and self.on_paused is not None:
            self.on_paused(msg["params"])
        with self._cond:
            self.events.append(msg)
            self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def wait_for(self, match: Callable[[Event], bool], start: int = 0, timeout: float = 30) -> Event:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[start:]:
                    if match(event):
                        return event
                start = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching DevTools event")
                self._cond.wait(left)

    def navigate(self, url: str, referrer: str | None = None) -> None:
        """Load `url` and wait for its load event (the snippet has run by then)."""
        with self._cond:
            start = len(self.events)
        params = {"url": url, **({"referrer": referrer} if referrer else {})}
        result = self.send("Page.navigate", params)
        if result.get("errorText"):
            raise CdpError(f"navigate {url}: {result['errorText']}")
        self.wait_for(lambda e: e["method"] == "Page.loadEventFired", start)

    def evaluate(self, expression: str) -> Any:
        """The expression's value, promises awaited; an exception in the page fails the test."""
        reply = self.send(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
        )
        if "exceptionDetails" in reply:
            raise CdpError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def requests(self, fragment: str, method: str = "POST") -> list[dict[str, Any]]:
        """The page's `method` requests whose URL contains `fragment` (sendBeacon's are of type
        Ping), as DevTools saw them: url, headers, postData, ..."""
        with self._cond:
            sent = [e["params"] for e in self.events if e["method"] == "Network.requestWillBeSent"]
        return [
            {**p["request"], "type": p.get("type")}
            for p in sent
            if fragment in p["request"]["url"] and p["request"]["method"] == method
        ]

    def close(self) -> None:
        """Close the page like a user closing the tab (its unload handlers run)."""
        if not self.closed:
            self.closed = True
            self.browser.send("Target.closeTarget", {"targetId": self.target})
            self.browser.listeners.pop(self.session, None)

    def dispose(self) -> None:
        """Close the page if still open and drop its browser context (storage included)."""
        self.close()
        self.browser.send("Target.disposeBrowserContext", {"browserContextId": self.context})


@dataclass
class Site:
    """The test pages' server and the Footfall server they report to. Pages under /plain/
    do not load the snippet."""

    url: str  # the pages' origin, on the project's allowlist
    server: Server
    pk: str
    rk: str

    attrs: dict[str, str]  # extra attributes of the script tag, by page path

    def page(self, path: str, **attrs: str) -> str:
        """URL of a page at `path` (query allowed) that loads the snippet; `attrs` become data-*
        attributes of its script tag, e.g. respect_dnt="false"."""
        self.attrs[urlsplit(path).path] = "".join(
            f' data-{k.replace("_", "-")}="{v}"' for k, v in attrs.items()
        )
        return self.url + path

    def rows(self, **filters: Any) -> list[dict[str, Any]]:
        """`/v1/query` rows (all time, rk key), oldest first."""
        return sorted(self.server.query(self.rk, **filters), key=lambda r: r["timestamp"])

    def wait_rows(self, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 15,
                  **filters: Any) -> list[dict[str, Any]]:
        """Poll `/v1/query` until `check(rows)` holds; the rows are oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(**filters)
            if check(rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met before the deadline; rows: {rows}")
            time.sleep(0.1)  # polling the server for a condition, with a deadline


def page_server(
    html: Callable[[str], str], files: dict[str, tuple[bytes, str]] | None = None
) -> ThreadingHTTPServer:
    """Serves `html(path)` for every path but `/favicon*` and the `files` (path → body, type)."""
    files = files or {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/favicon"):
                self.send_response(404)
                self.end_headers()
                return
            body, content_type = files.get(self.path) or (html(self.path).encode(), "text/html; charset=utf-8")
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("no chromium executable on PATH (Debian: apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    config: dict[str, str] = {}
    attributes: dict[str, str] = {}

    def html(path: str) -> str:
        if path.startswith("/plain/"):
            return "<!doctype html><title>plain</title><p>A page without the snippet</p>"
        attrs = attributes.get(urlsplit(path).path, "")
        return (
            "<!doctype html><html><head><meta charset=utf-8><title>test page</title>"
            f'<script src="{config["server"]}/v1/a.js" data-key="{config["pk"]}"{attrs}></script>'
            "</head><body><p>Footfall browser snippet test page</p></body></html>"
        )

    httpd = page_server(html)
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    data = tmp_path_factory.mktemp("browser") / "data"
    created = json.loads(cli(data, "project", "create", "web", "--origin", origin, "--json").stdout)
    server = Server(data).start()
    config.update(server=server.url, pk=created["keys"]["pk_live"])
    try:
        yield Site(origin, server, created["keys"]["pk_live"], created["keys"]["rk_live"], attributes)
    finally:
        server.stop()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(chromium, tmp_path_factory.mktemp("chromium") / "profile")
    yield b
    b.close()


@pytest.fixture(scope="session")
def dnt_browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A browser whose user turned on "Send a Do Not Track request"."""
    b = Browser(chromium, tmp_path_factory.mktemp("chromium-dnt") / "profile",
                prefs={"enable_do_not_track": True})
    yield b
    b.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    t = browser.tab()
    yield t
    t.dispose()
