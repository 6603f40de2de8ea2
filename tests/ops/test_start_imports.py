"""A running server imports only what serving events needs: libraries of the export/import
routes, MCP, other stores and shared state stay unloaded until used (each costs resident memory
for the server's life; docs/performance.md, "Fourth pass")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.support.server import Server

# Top-level names or dotted modules a server that has taken events must not have imported.
LAZY = (
    "pyarrow.parquet", "pyarrow.csv", "pyarrow.dataset", "pandas", "mcp", "mcp_types",
    "clickhouse_connect", "chdb", "psycopg", "redis", "websockets",
)  # fmt: skip


def _imported(log: str) -> set[str]:
    # PYTHONPROFILEIMPORTTIME makes the interpreter log every module it imports, in the real process.
    return {m.group(1) for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", log, re.M)}


def _loaded(name: str, modules: set[str]) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_serving_events_leaves_lazy_libraries_unloaded(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"PYTHONPROFILEIMPORTTIME": "1"}).start()
    try:
        keys = json.loads((tmp_path / "data-keys.json").read_text())
        events = [
            {"event": "$pageview", "anonymous_id": f"v{i}", "event_id": f"e{i}",
             "url": f"https://shop.example/p{i}?utm_source=google&gclid=g{i}"}
            for i in range(20)
        ]  # fmt: skip
        sent = httpx.post(server.url + "/v1/batch", json={"events": events},
                          headers={"Authorization": f"Bearer {keys['sk_live']}"})  # fmt: skip
        assert sent.status_code < 300, sent.text
        params = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "metric": "count"}
        stats = httpx.get(server.url + "/v1/stats", params=params,
                          headers={"Authorization": f"Bearer {keys['rk_live']}"})  # fmt: skip
        assert sum(row["value"] for row in stats.json()["rows"]) == 20, stats.text  # stored: loader ran
    finally:
        server.stop()
    modules = _imported(server.log.read_text())
    # The log is the server image's imports too (the CLI's image, before it, imports no uvicorn).
    assert "footfall.service" in modules and "duckdb" in modules and "uvicorn" in modules
    assert [name for name in LAZY if _loaded(name, modules)] == []


def test_the_server_process_holds_none_of_the_clis_libraries(tmp_path: Path) -> None:
    # `footfall serve` hands over to `footfall.serving` in the same process (same pid): typer
    # and the pydantic it loads to check option types stay in the CLI's image, not the server's.
    server = Server(tmp_path / "data").start()
    try:
        pid = server.proc.pid if server.proc else 0
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        maps = Path(f"/proc/{pid}/maps").read_text()
        healthy = httpx.get(server.url + "/healthz").status_code
    finally:
        code = server.stop()
    assert code == 0 and healthy == 200
    assert command[1:4] == [b"-P", b"-m", b"footfall.serving"]
    assert "_duckdb" in maps  # the maps are the serving process's
    assert "_pydantic_core" not in maps
