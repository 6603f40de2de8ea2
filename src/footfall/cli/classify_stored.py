"""`footfall reclassify`"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from footfall.cli._common import DataOpt, JsonOpt, MetaOpt, emit, settings_for, unreachable

__all__ = ["reclassify"]


def reclassify(
    since: Annotated[
        str | None, typer.Option("--since", help="Only events at or after this ISO 8601 time.")
    ] = None,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    memory: Annotated[
        str, typer.Option("--memory", help="DuckDB memory limit for this run (e.g. 4GB).")
    ] = "1GB",
    as_json: JsonOpt = False,
) -> None:
    """Re-run the attribution classifier (and project rules) on stored events.

    Run it with the server stopped: the embedded store admits one writing process. Only events
    whose attribution changes are written, oldest first, in transactions of at most 500k
    events; if it stops half way, run it again to finish.
    """
    from footfall.service import reclassify_stored
    from footfall.store.meta import MetaUnavailable

    start = None
    if since:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(f"--since must be ISO 8601, got {since!r}") from None
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
    import duckdb

    try:
        updated = reclassify_stored(settings_for(data, meta_url), start, memory, _progress)
    except duckdb.OutOfMemoryException:
        typer.echo(
            f"error: reclassify needs more than --memory {memory}: raise it, or narrow the run"
            " with --since (it is safe to re-run)",
            err=True,
        )
        raise typer.Exit(1) from None
    except MetaUnavailable as err:
        unreachable(err)
    except duckdb.IOException as err:  # DuckDB's lock error names the holding process
        if "lock" in str(err).lower():
            typer.echo("error: the store is in use; stop `footfall serve` first", err=True)
            raise typer.Exit(1) from None
        raise
    emit(as_json, {"updated": updated}, f"reclassified {updated} events")


def _progress(done: int, of: int) -> None:
    if of > 1:  # a long run: say it is moving (stderr, so --json output stays clean)
        typer.echo(f"reclassify: {done}/{of} transactions committed", err=True)
