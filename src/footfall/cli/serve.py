"""`footfall serve`"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from footfall.cli._common import DataOpt, MetaOpt, settings_for, unreachable

__all__ = ["serve"]


def serve(
    host: Annotated[str | None, typer.Option("--host", help="[env: FOOTFALL_HOST; default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option("--port", help="[env: FOOTFALL_PORT; default 8787]")] = None,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    state: Annotated[
        str | None,
        typer.Option("--state", help="Shared hot state: redis:// URL [env: FOOTFALL_STATE; default: this process's memory]"),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="duckdb or clickhouse://USER:PASSWORD@HOST:8123/DATABASE [env: FOOTFALL_STORE]"),
    ] = None,
    trusted_proxy: Annotated[
        str | None,
        typer.Option("--trusted-proxy", help="CIDRs allowed to set X-Forwarded-For [env: FOOTFALL_TRUSTED_PROXIES]"),
    ] = None,
    max_pending: Annotated[int | None, typer.Option("--max-pending", help="[env: FOOTFALL_MAX_PENDING]")] = None,
    max_lag: Annotated[int | None, typer.Option("--max-lag", help="[env: FOOTFALL_MAX_LAG]")] = None,
    max_lag_bytes: Annotated[int | None, typer.Option("--max-lag-bytes", help="[env: FOOTFALL_MAX_LAG_BYTES]")] = None,
    read_timeout: Annotated[float | None, typer.Option("--read-timeout", help="[env: FOOTFALL_READ_TIMEOUT]")] = None,
    store_threads: Annotated[int | None, typer.Option("--store-threads", help="[env: FOOTFALL_STORE_THREADS]")] = None,
    store_memory: Annotated[str | None, typer.Option("--store-memory", help="[env: FOOTFALL_STORE_MEMORY]")] = None,
    rate_limits: Annotated[str | None, typer.Option("--rate-limits", help="on or off [env: FOOTFALL_RATE_LIMITS]")] = None,
    geoip_city: Annotated[Path | None, typer.Option("--geoip-city", help="[env: FOOTFALL_GEOIP_CITY]")] = None,
    geoip_asn: Annotated[Path | None, typer.Option("--geoip-asn", help="[env: FOOTFALL_GEOIP_ASN]")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="[env: FOOTFALL_LOG_LEVEL]")] = None,
    keys_file: Annotated[
        Path | None,
        typer.Option("--keys-file", help="Also write the first run's keys to this file as JSON."),
    ] = None,
) -> None:
    """Run the HTTP server. On an empty data directory, creates a default project and prints its keys."""
    from footfall.ops.logs import configure_logging
    from footfall.service import bootstrap_dashboard_admin, bootstrap_default_project, open_meta
    from footfall.serving import hand_over
    from footfall.state import StateUnavailable, open_state
    from footfall.store.factory import StoreConfigError, check_store
    from footfall.store.meta import MetaUnavailable
    from footfall.store.meta.dialect import is_postgres

    settings = settings_for(
        data,
        meta_url,
        state=state,
        store=store,
        host=host,
        port=port,
        trusted_proxies=trusted_proxy,
        max_pending=max_pending,
        max_lag=max_lag,
        max_lag_bytes=max_lag_bytes,
        read_timeout=read_timeout,
        store_threads=store_threads,
        rate_limits=rate_limits,
        store_memory=store_memory,
        geoip_city=str(geoip_city) if geoip_city else None,
        geoip_asn=str(geoip_asn) if geoip_asn else None,
        log_level=log_level,
    )
    configure_logging(settings.log_level)
    # Shared services are checked before listening: unreachable is one clear line, exit 2.
    try:
        check_store(settings.store, settings.data)
    except StoreConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        open_state(settings.state).close()
        meta = open_meta(settings)
        try:
            first = bootstrap_default_project(meta)
            admin = bootstrap_dashboard_admin(meta)
        finally:
            meta.close()
    except (MetaUnavailable, StateUnavailable) as err:
        unreachable(err)
    if settings.state and not is_postgres(settings.meta_target):
        typer.echo(
            "warning: --state is shared but the control plane is this node's own: each node then"
            " has its own daily salt, so a cookieless visitor gets another id (and sessions) on"
            " each node; give every node the same --meta postgresql://… (docs/multinode.md)",
            err=True,
        )
    if first is not None:
        typer.echo("Created the default project. Keys (shown once, store them now):", err=True)
        for name, value in first.items():
            typer.echo(f"  {name}: {value}", err=True)
        typer.echo(f"  try: export SK_KEY={first['sk_live']} RK_KEY={first['rk_live']}", err=True)
        if keys_file is not None:
            keys_file.write_text(json.dumps(first, indent=2))
            keys_file.chmod(0o600)
    if admin is not None:
        shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        typer.echo(
            f"Dashboard: http://{shown}:{settings.port}/dashboard/ (log in as {admin[0]},"
            f" password {admin[1]}: shown once; `footfall user create` adds people)",
            err=True,
        )
    typer.echo(f"Footfall listening on http://{settings.host}:{settings.port} (data: {settings.data})", err=True)
    hand_over(settings)
