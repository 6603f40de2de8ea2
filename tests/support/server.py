"""A real Footfall server process on 127.0.0.1 with its own data directory."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Server", "cli", "free_port"]

_servers = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "footfall", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def _store_under_test() -> dict[str, str]:
    """With FOOTFALL_TEST_CLICKHOUSE_URL set, every server keeps its events in ClickHouse, in a
    database of its own (the whole suite then runs against that server)."""
    url = os.environ.get("FOOTFALL_TEST_CLICKHOUSE_URL", "")
    if not url:
        return {}
    base = url.rstrip("/").rsplit("/", 1)[0] if url.count("/") > 2 else url.rstrip("/")
    return {"FOOTFALL_STORE": f"{base}/ff_srv_{os.getpid()}_{next(_servers)}"}


class Server:
    def __init__(
        self, data: Path, env: dict[str, str] | None = None, max_file_bytes: int | None = None
    ) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Tests fire requests far faster than any client should; rate-limit tests switch it on.
        self.env = {"FOOTFALL_RATE_LIMITS": "off", **_store_under_test(), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.keys: dict[str, str] = {}
        self.max_file_bytes = max_file_bytes  # RLIMIT_FSIZE: simulates a full disk
        self.log = data.parent / f"{data.name}-server-{self.port}.log"

    def start(self, timeout: float = 30.0) -> Server:
        keys_file = self.data.parent / f"{self.data.name}-keys.json"
        env = {**os.environ, **self.env}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "footfall", "serve", "--data", str(self.data),
                    "--port", str(self.port), "--keys-file", str(keys_file),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=self._limit_files if self.max_file_bytes else None,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become healthy: " + self.log.read_text()[-3000:])
            time.sleep(0.05)  # polling for readiness, not synchronisation of test logic
        if keys_file.exists() and not self.keys:
            self.keys = json.loads(keys_file.read_text())
        return self

    def _limit_files(self) -> None:
        import resource

        assert self.max_file_bytes is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.max_file_bytes, self.max_file_bytes))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        h = dict(headers)
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=self.url, headers=h, timeout=30)

    def query(self, key: str, **params: Any) -> list[dict[str, Any]]:
        params.setdefault("from", "2000-01-01T00:00:00Z")
        params.setdefault("to", "2100-01-01T00:00:00Z")
        params.setdefault("limit", 1000)
        with self.client(key) as c:
            r = c.get("/v1/query", params=params)
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()["rows"]
        return rows
