"""`footfall store …`"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from footfall.cli._common import DataOpt, JsonOpt, emit, settings_for

if TYPE_CHECKING:
    from rich.progress import TaskID

__all__ = ["app"]

app = typer.Typer(help="Move the event store between backends.", no_args_is_help=True)


@app.command("copy")
def copy(
    to: Annotated[
        str, typer.Option("--to", help="clickhouse://USER:PASSWORD@HOST:8123/DATABASE (clickhouses:// for TLS)")
    ],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the DuckDB store of --data (events, sessions, rollups, profiles, links, WAL
    position) to ClickHouse. Resumable and idempotent: run it again after an interruption, or
    to check; it refuses while a server writes to --data. Then serve with --store URL."""
    from rich.progress import Progress

    from footfall.store.copy import StoreInUse, copy_to_clickhouse
    from footfall.store.factory import StoreConfigError, open_store, parse_store_url

    settings = settings_for(data)
    try:
        target = parse_store_url(to)
        if target is None:
            raise StoreConfigError("--to must be a clickhouse:// or clickhouses:// URL")
        store = open_store(to, settings.data)
    except StoreConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    tasks: dict[str, TaskID] = {}
    try:
        with Progress(transient=as_json) as bar:  # on stderr: --json output stays clean

            def progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(f"copy {table}", total=total)
                bar.update(tasks[table], completed=done, total=total)

            copied = copy_to_clickhouse(settings.data / "events.duckdb", store, progress)  # type: ignore[arg-type]
    except (StoreInUse, FileNotFoundError, StoreConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    emit(as_json, copied, f"copied to {target.redacted()}: " + ", ".join(f"{k} {v}" for k, v in copied.items()))
