"""ClickHouse for tests without a ClickHouse server: the real engine in-process (chDB).

Two ways in, both real clickhouse-connect clients:
* `chdb_connector()`: clickhouse-connect's own in-process chDB interface;
* `ClickHouseHTTP`: a small server speaking the part of ClickHouse's HTTP interface that
  clickhouse-connect uses (query in the URL or the body, `param_*`, per-request settings,
  `INSERT … FORMAT` with the data in the body, compressed bodies, `X-ClickHouse-*` headers,
  error bodies) over one chDB connection, so `footfall serve --store clickhouse://…` runs
  against it over real HTTP.

chDB hosts one engine (one data directory) per process: every test shares `engine_path()`
and takes a database of its own (`new_database()`). `FOOTFALL_TEST_CLICKHOUSE_URL` points the
suite at a real server instead.
"""

from __future__ import annotations

import gzip
import itertools
import os
import re
import socket
import tempfile
import threading
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["REAL_SERVER", "ClickHouseHTTP", "chdb_connector", "engine_path", "new_database"]

REAL_SERVER = os.environ.get("FOOTFALL_TEST_CLICKHOUSE_URL", "")
_engine: str | None = None
_names = itertools.count(1)
_lock = threading.Lock()

# URL parameters that steer the HTTP transport, not the query (never sent to the engine).
_TRANSPORT = {
    "query", "database", "default_format", "session_id", "session_timeout", "session_check",
    "query_id", "compress", "decompress", "wait_end_of_query", "client_protocol_version",
    "send_progress_in_http_headers", "http_headers_progress_interval_ms", "user", "password",
    "quota_key", "buffer_size", "role", "enable_http_compression",
}  # fmt: skip
_FORMAT_AT_END = re.compile(r"^(?P<head>.*?)\s+FORMAT\s+(?P<fmt>\w+)\s*;?\s*$", re.S | re.I)
_ERROR_CODE = re.compile(r"Code: (\d+)")


def engine_path() -> str:
    """The one chDB data directory of this process."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = tempfile.mkdtemp(prefix="footfall-chdb-")
        return _engine


def new_database(prefix: str = "t") -> str:
    return f"ff_{prefix}_{os.getpid()}_{next(_names)}"


def chdb_connector() -> Callable[[str | None], Any]:
    """clickhouse-connect's in-process client on this process's chDB engine."""
    from footfall.store.clickhouse.store import CLIENT_SETTINGS

    def connect(database: str | None) -> Any:
        import clickhouse_connect

        return clickhouse_connect.get_client(
            interface="chdb", path=engine_path(), database=database or "default",
            settings=CLIENT_SETTINGS,
        )  # fmt: skip

    return connect


def _decompress(data: bytes, encoding: str) -> bytes:
    if encoding == "lz4":
        import lz4.frame

        return bytes(lz4.frame.decompress(data))
    if encoding == "zstd":
        from clickhouse_connect.driver.compression import _zstd_decompress

        return bytes(_zstd_decompress(data))
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    raise ValueError(f"unsupported Content-Encoding {encoding}")


class ClickHouseHTTP:
    """ClickHouse's HTTP interface over one chDB connection, on 127.0.0.1:<free port>."""

    def __init__(self, port: int = 0) -> None:
        import chdb

        self.conn = chdb.connect(engine_path())
        self.lock = threading.Lock()  # one query at a time on the connection
        self.requests = 0
        self.down = False  # answer nothing (connection refused-like): a store outage
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in separate writes: without this, Nagle's algorithm
                # and the client's delayed ACK hold every answer ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                if urlsplit(self.path).path.rstrip("/") in ("", "/ping") and "query" not in self.path:
                    self._send(200, b"Ok.\n", {})
                else:
                    self.do_POST()

            def do_POST(self) -> None:
                if outer.down:
                    self.close_connection = True
                    self.connection.close()
                    return
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                body = self._body()
                encoding = self.headers.get("Content-Encoding")
                if encoding and body:
                    body = _decompress(body, encoding)
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
                    # Bind parameters past ~4 KB travel as a form with the query beside them.
                    params.update(_form_fields(ctype, body))
                    body = b""
                status, out, headers = outer.execute(params, body)
                self._send(status, out, headers)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        chunk = self.rfile.read(size)
                        self.rfile.readline()
                        if not size:
                            return b"".join(chunks)
                        chunks.append(chunk)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in {"Content-Length": str(len(body)), "X-ClickHouse-Timezone": "UTC", **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, database: str) -> str:
        return f"clickhouse://default:@127.0.0.1:{self.port}/{database}"

    def start(self) -> ClickHouseHTTP:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.conn.close()

    def execute(self, params: dict[str, str], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        sql = params.get("query")
        data: bytes | None = body if sql is not None and body else None
        if sql is None:
            head, _sep, rest = body.partition(b"\n")
            if head.lstrip().upper().startswith(b"INSERT") and _FORMAT_AT_END.match(head.decode()):
                sql, data = head.decode(), rest
            else:
                sql = body.decode()
        elif data is not None and not sql.lstrip().upper().startswith("INSERT"):
            sql, data = sql + "\n" + data.decode(), None  # query text continued in the body
        binds = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in _TRANSPORT and not k.startswith("param_")}
        with self.lock:
            self.requests += 1
            try:
                self._run(f"USE `{params.get('database') or 'default'}`", "TabSeparated")
                for key, value in settings.items():
                    self._run(f"SET {key} = '{_quoted(value)}'", "TabSeparated")
                try:
                    return self._statement(sql, data, binds)
                finally:
                    for key in settings:  # per-request settings end with the request
                        self._run(f"SET {key} = DEFAULT", "TabSeparated")
            except Exception as exc:
                text = str(exc)
                code = _ERROR_CODE.search(text)
                return 500, (text.strip() + "\n").encode(), {
                    "X-ClickHouse-Exception-Code": code.group(1) if code else "1000",
                    "Content-Type": "text/plain; charset=UTF-8",
                }

    def _statement(
        self, sql: str, data: bytes | None, binds: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        m = _FORMAT_AT_END.match(sql)
        if data is not None:
            if m is None:
                raise ValueError("Code: 62. DB::Exception: an INSERT with data needs FORMAT")
            with tempfile.NamedTemporaryFile(suffix=".data") as tmp:
                tmp.write(data)
                tmp.flush()
                self._run(f"{m['head']} FROM INFILE '{_quoted(tmp.name)}' FORMAT {m['fmt']}", "TabSeparated", binds)
            return 200, b"", {}
        if m is not None:
            out = self._run(sql, m["fmt"], binds)
            return 200, out, {"X-ClickHouse-Format": m["fmt"]}
        # No FORMAT: ClickHouse answers TabSeparated and names the format only for statements
        # that produce a result (a names line appears exactly for those).
        out = self._run(sql, "TabSeparatedWithNames", binds)
        if not out:
            return 200, b"", {}
        return 200, out.split(b"\n", 1)[1], {"X-ClickHouse-Format": "TabSeparated"}

    def _run(self, sql: str, fmt: str, binds: dict[str, str] | None = None) -> bytes:
        result = self.conn.query(sql, fmt, params=binds or {})
        return bytes(result.bytes() or b"") if hasattr(result, "bytes") else str(result).encode()


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        fields[str(name)] = payload.decode() if payload is not None else ""
    return fields


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def main() -> None:
    """`python -m tests.support.clickhouse [PORT]`: serve until interrupted, so another process
    (a whole test run with FOOTFALL_TEST_CLICKHOUSE_URL) can use ClickHouse over HTTP."""
    import sys

    http = ClickHouseHTTP(int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(http.url("footfall"), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        http.stop()


if __name__ == "__main__":
    main()
