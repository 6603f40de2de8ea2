"""Every setting, with its flag, environment variable, default and meaning, in one table.

`docs/configuration.md` is checked against `SETTINGS` by the tests, so the table cannot drift.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SETTINGS", "Setting", "Settings", "render_configuration_docs"]


@dataclass(frozen=True)
class Setting:
    name: str  # attribute on Settings
    env: str
    flag: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("data", "FOOTFALL_DATA", "--data", "./footfall-data", "Data directory (DuckDB file, WAL, control-plane SQLite). Each node has its own."),
    Setting("meta", "FOOTFALL_META", "--meta", "", "Control plane (projects, keys, salts, rules, limits): a `postgresql://` URL shared by several nodes, or a SQLite file path; empty means `<data>/meta.sqlite`."),
    Setting("state", "FOOTFALL_STATE", "--state", "", "Shared hot state (open sessions, session attribution, first sightings, rate-limit buckets): a `redis://` URL for several nodes; empty keeps it in this process's memory."),
    Setting("store", "FOOTFALL_STORE", "--store", "duckdb", "Event store: `duckdb` (`<data>/events.duckdb`) or `clickhouse://USER:PASSWORD@HOST:8123/DATABASE` (`clickhouses://` for TLS); the WAL and control plane stay in `--data`. See docs/scaling.md."),
    Setting("host", "FOOTFALL_HOST", "--host", "127.0.0.1", "Address `serve` listens on."),
    Setting("port", "FOOTFALL_PORT", "--port", "8787", "Port `serve` listens on."),
    Setting("trusted_proxies", "FOOTFALL_TRUSTED_PROXIES", "--trusted-proxy", "", "Comma-separated CIDRs whose X-Forwarded-For / Forwarded headers are believed. None by default."),
    Setting("max_pending", "FOOTFALL_MAX_PENDING", "--max-pending", "20000", "Events waiting for a disk sync before new writes get 503 (bounds memory)."),
    Setting("max_lag", "FOOTFALL_MAX_LAG", "--max-lag", "50000", "Events synced but not yet loaded into the store before new writes get 503 (bounds memory)."),
    Setting("max_lag_bytes", "FOOTFALL_MAX_LAG_BYTES", "--max-lag-bytes", "16000000", "Bytes of events synced but not yet loaded into the store before new writes get 503: bounds the loader's backlog in memory whatever the events' size."),
    Setting("read_timeout", "FOOTFALL_READ_TIMEOUT", "--read-timeout", "10", "Seconds a read waits for the loader to reach the log's end before 503."),
    Setting("store_threads", "FOOTFALL_STORE_THREADS", "--store-threads", "2", "DuckDB worker threads: more make reads faster, fewer leave more CPU to ingestion."),
    Setting("store_memory", "FOOTFALL_STORE_MEMORY", "--store-memory", "104MB", "DuckDB memory limit; larger reads spill to <data>/spill. The default keeps the server under 300 MB; 1GB makes the biggest reads (attribution over 10M events) faster, the server then using ~1.2 GB."),
    Setting("rate_limits", "FOOTFALL_RATE_LIMITS", "--rate-limits", "on", "on or off: per-project token buckets on ingest routes (off for benchmarks and trusted internal use)."),
    Setting("geoip_city", "FOOTFALL_GEOIP_CITY", "--geoip-city", "", "Path to a MaxMind/DB-IP City MMDB file (optional; country works without)."),
    Setting("geoip_asn", "FOOTFALL_GEOIP_ASN", "--geoip-asn", "", "Path to an ASN/ISP MMDB file (optional)."),
    Setting("log_level", "FOOTFALL_LOG_LEVEL", "--log-level", "info", "debug, info, warning or error. Logs are JSON lines on stderr."),
)


@dataclass
class Settings:
    data: Path = Path("./footfall-data")
    meta: str | None = None
    state: str | None = None
    store: str = "duckdb"
    host: str = "127.0.0.1"
    port: int = 8787
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default_factory=tuple
    )
    max_pending: int = 20_000
    max_lag: int = 50_000
    max_lag_bytes: int = 16_000_000
    read_timeout: float = 10.0
    store_threads: int = 2
    store_memory: str = "104MB"
    rate_limits: bool = True
    geoip_city: str | None = None
    geoip_asn: str | None = None
    log_level: str = "info"

    @property
    def meta_target(self) -> Path | str:
        """Where the control plane lives: the `--meta` URL or path, else `<data>/meta.sqlite`."""
        return self.meta if self.meta else self.data / "meta.sqlite"

    def environ(self) -> dict[str, str]:
        """Every setting as its environment variable's text: `from_env` reads them back as they
        are (how `footfall serve` hands its settings to the server process, see `serving`)."""
        raw: dict[str, object] = {
            **{s.name: getattr(self, s.name) for s in SETTINGS},
            "meta": self.meta or "",
            "state": self.state or "",
            "trusted_proxies": ",".join(str(network) for network in self.trusted_proxies),
            "rate_limits": "on" if self.rate_limits else "off",
            "geoip_city": self.geoip_city or "",
            "geoip_asn": self.geoip_asn or "",
        }
        return {s.env: str(raw[s.name]) for s in SETTINGS}

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, overridden by FOOTFALL_* variables, overridden by explicit (flag) values."""
        raw: dict[str, str] = {s.name: os.environ.get(s.env, s.default) for s in SETTINGS}
        for key, value in overrides.items():
            if value is not None:
                raw[key] = value if isinstance(value, str) else str(value)
        return cls(
            data=Path(raw["data"]),
            meta=raw["meta"] or None,
            state=raw["state"] or None,
            store=raw["store"].strip() or "duckdb",
            host=raw["host"],
            port=int(raw["port"]),
            trusted_proxies=parse_cidrs(raw["trusted_proxies"]),
            max_pending=int(raw["max_pending"]),
            max_lag=int(raw["max_lag"]),
            max_lag_bytes=int(raw["max_lag_bytes"]),
            read_timeout=float(raw["read_timeout"]),
            store_threads=int(raw["store_threads"]),
            store_memory=raw["store_memory"],
            rate_limits=raw["rate_limits"].strip().lower() not in ("off", "false", "0", "no"),
            geoip_city=raw["geoip_city"] or None,
            geoip_asn=raw["geoip_asn"] or None,
            log_level=raw["log_level"],
        )


def parse_cidrs(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
    )


def render_configuration_docs() -> str:
    """`docs/configuration.md` (regenerate with `python -m footfall.config`)."""
    lines = [
        "# Configuration",
        "",
        "Every setting is a `footfall serve` flag and an environment variable; a flag wins over the",
        "environment, which wins over the default. (Generated from `footfall/config.py` by",
        "`python -m footfall.config`; a test fails when this page is out of date.)",
        "",
        "| flag | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(none)"
        lines.append(f"| `{s.flag}` | `{s.env}` | {default} | {s.help} |")
    lines += [
        "",
        "`--data` / `FOOTFALL_DATA` and `--meta` / `FOOTFALL_META` are taken by every CLI command"
        " (`project`, `key`, `rule`, `reclassify`), not only `serve`: with a shared PostgreSQL"
        " control plane, an admin command run anywhere acts on every node (docs/multinode.md).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_configuration_docs(), end="")
