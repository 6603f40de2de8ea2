"""A recording forwarder for the Segment client tests: a real HTTP peer on 127.0.0.1 that notes
each request's path and headers, forwards the bytes as sent to Footfall, and for the first
`lose` requests answers 503 after Footfall stored them (the answer lost on the way, as a
flaky network or load balancer would), so the SDK's retry must be deduplicated."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

__all__ = ["Recorder"]

_FORWARDED = ("authorization", "content-type", "content-encoding", "origin", "user-agent")


class Recorder:
    def __init__(self, upstream: str, lose: int = 0) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=30)
        self.lose = lose
        self.seen: list[tuple[str, dict[str, str], int]] = []  # path, headers, status sent back
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items() if k.lower() in _FORWARDED}
                r = recorder.upstream.post(self.path, content=body, headers=headers)
                with recorder.lock:
                    lost = len(recorder.seen) < recorder.lose
                    status = 503 if lost else r.status_code
                    recorder.seen.append((self.path, headers, r.status_code))
                payload = b'{"code":"overloaded","message":"try again"}' if lost else r.content
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if lost:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
        self.upstream.close()
