"""The one place that knows which event store runs: `--store` / FOOTFALL_STORE → a `Store`.

`duckdb` (the default) is the embedded file `<data>/events.duckdb`;
`clickhouse://USER:PASSWORD@HOST:8123/DATABASE` (or `clickhouses://` for TLS) is a ClickHouse
server reached over HTTP. Everything outside `store/` gets its store from `open_store`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from footfall.config import Settings
from footfall.store.base import Store

__all__ = [
    "ClickHouseTarget", "StoreConfigError", "check_store", "node_id", "open_store", "parse_store_url",
]

_DEFAULT_DATABASE = "footfall"


class StoreConfigError(Exception):
    """The store setting is malformed, or the store cannot be reached or prepared at start."""


@dataclass(frozen=True)
class ClickHouseTarget:
    host: str
    port: int
    username: str
    password: str
    database: str
    secure: bool

    def redacted(self) -> str:
        scheme = "clickhouses" if self.secure else "clickhouse"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"


def parse_store_url(value: str) -> ClickHouseTarget | None:
    """None for the embedded DuckDB store, else where the ClickHouse server is.

    >>> parse_store_url("duckdb") is None
    True
    >>> parse_store_url("clickhouse://ff:s3cret@db.internal:8123/analytics").redacted()
    'clickhouse://ff@db.internal:8123/analytics'
    """
    raw = value.strip()
    if raw in ("", "duckdb"):
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise StoreConfigError(
            f"unknown store {raw.split('://')[0]!r}: use duckdb or"
            " clickhouse://USER:PASSWORD@HOST:8123/DATABASE (clickhouses:// for TLS)"
        )
    if not parts.hostname:
        raise StoreConfigError("the ClickHouse store URL needs a host: clickhouse://USER:PASSWORD@HOST:8123/DATABASE")
    try:
        port = parts.port
    except ValueError:
        raise StoreConfigError("the ClickHouse store URL has an invalid port") from None
    secure = parts.scheme == "clickhouses"
    database = unquote(parts.path.strip("/")) or _DEFAULT_DATABASE
    if not database.replace("_", "").isalnum():
        raise StoreConfigError(f"invalid ClickHouse database name {database!r}: letters, digits and _ only")
    return ClickHouseTarget(
        host=parts.hostname,
        port=port or (8443 if secure else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=database,
        secure=secure,
    )


def open_store(
    store: str, data: Path, threads: int = Settings.store_threads, memory: str = Settings.store_memory
) -> Store:
    """Open (not yet migrate) the configured event store."""
    target = parse_store_url(store)
    if target is None:
        from footfall.store.duckdb.store import DuckDBStore

        return DuckDBStore(data / "events.duckdb", threads, memory)
    from footfall.store.clickhouse.store import ClickHouseStore, http_connector

    return ClickHouseStore(
        http_connector(target), target.database, label=target.redacted(), writer=node_id(data)
    )


def node_id(data: Path) -> str:
    """This data directory's id, made on first use: the WAL in it is this node's, and a shared
    store keeps each WAL's position apart by it."""
    path = data / "node-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data.mkdir(parents=True, exist_ok=True)
        made = secrets.token_hex(8)
        try:
            with path.open("x") as f:  # two processes starting at once: the first file wins
                f.write(made + "\n")
        except FileExistsError:
            return path.read_text().strip()
        return made


def check_store(store: str, data: Path) -> None:
    """Fail before serving when a remote store is misconfigured, unreachable or may not be
    prepared (the embedded store always can be); raises StoreConfigError with the reason."""
    if parse_store_url(store) is None:
        return
    opened = open_store(store, data)
    try:
        opened.migrate()
    finally:
        opened.close()
