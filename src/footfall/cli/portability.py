"""`footfall export` and `footfall import`: offline on a stopped data directory (`--data`) or
through a running server's API (`--server URL --key KEY`)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from footfall.cli._common import DataOpt, JsonOpt, emit, settings_for
from footfall.portability import BULK_ROWS

__all__ = ["backup", "export", "import_", "restore"]

ServerOpt = Annotated[
    str | None, typer.Option("--server", help="A running server's URL (its API is used).")
]
KeyOpt = Annotated[
    str | None,
    typer.Option("--key", envvar="FOOTFALL_KEY", help="API key for --server [env: FOOTFALL_KEY]."),
]
ProjectOpt = Annotated[
    str | None,
    typer.Option("--project", help="Project id (with --server the key's project is used)."),
]
EnvOpt = Annotated[str, typer.Option("--env", help="live or test (with --server: the key's).")]


def _time(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise typer.BadParameter(f"{name} must be ISO 8601, got {raw!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextlib.contextmanager
def _opened(kind: str, data: Path | None, server: str | None, key: str | None, project: str | None) -> Iterator[None]:
    """Turn the usual failures of opening a data directory into one-line errors."""
    import duckdb
    import httpx

    from footfall.errors import NotFound

    if server and not key:
        raise _fail("--server needs --key (or FOOTFALL_KEY)")
    if not server and not project:
        raise _fail("--project is required with --data")
    try:
        yield
    except duckdb.IOException as err:
        if "lock" in str(err).lower():
            raise _fail(
                f"the data directory is in use by a running server: {kind} through it with"
                " --server URL --key KEY"
            ) from None
        raise
    except NotFound:
        raise _fail(f"project {project} does not exist in this data directory") from None
    except httpx.HTTPError as err:  # the server went away or cut the stream
        raise _fail(f"{kind} through {server} failed: {type(err).__name__}: {err}") from None
    except RuntimeError as err:  # the server answered with an error
        raise _fail(str(err)) from None


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def export(
    project: ProjectOpt = None,
    env: EnvOpt = "live",
    from_: Annotated[str | None, typer.Option("--from", help="ISO 8601, inclusive.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="ISO 8601, exclusive.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="ndjson, csv or parquet.")] = "ndjson",
    out: Annotated[
        str, typer.Option("--out", help="Directory for <table>.<format> + manifest.json, or - (stdout, one table, ndjson/csv).")
    ] = "-",
    what: Annotated[str, typer.Option("--what", help="Comma list of events, links, profiles.")] = "events,links,profiles",
    data: DataOpt = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a project's events (every stored field), identity links and profiles.

    Streams in bounded memory. Offline (--data, server stopped) the WAL is replayed first; with
    --server the rows come from GET /v1/export. A directory gets a manifest.json with each
    file's rows, time range and sha256.
    """
    from footfall.model import Scope
    from footfall.portability.exporter import HttpSource, LocalSource, Source, export_tables
    from footfall.portability.formats import FORMATS

    tables = [t.strip() for t in what.split(",") if t.strip()]
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if not tables or any(t not in ("events", "links", "profiles") for t in tables):
        raise typer.BadParameter("--what is a comma list of events, links, profiles")
    if env not in ("live", "test"):
        raise typer.BadParameter("--env is live or test")
    if out == "-" and (len(tables) != 1 or fmt == "parquet"):
        raise typer.BadParameter("--out - takes one table (--what) as ndjson or csv")
    start, end = _time(from_, "--from"), _time(to, "--to")
    scope = Scope(project or "(the key's project)", env)
    with _opened("export", data, server, key, project):
        source: Source = HttpSource(server, key or "") if server else LocalSource(settings_for(data))
        try:
            target = Path(out) if out != "-" else sys.stdout.buffer
            with _progress() as bar:
                tasks: dict[str, Any] = {}
                started = datetime.now(UTC)

                def progress(table: str, rows: int, size: int) -> None:
                    if table not in tasks:
                        tasks[table] = bar.add_task(f"export {table}", total=None, rows=0, rate=0.0)
                    seconds = max((datetime.now(UTC) - started).total_seconds(), 1e-3)
                    bar.update(tasks[table], completed=size, rows=rows, rate=rows / seconds)

                manifest = export_tables(source, scope, tables, fmt, target, start, end, progress)
        finally:
            source.close()
    if out != "-":
        counts = ", ".join(f"{name}: {e.get('rows', '?')} rows" for name, e in manifest["files"].items())
        emit(as_json, manifest, f"exported to {out} ({counts})")


def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files (NDJSON or CSV, .gz too; Footfall .parquet) or export directories.", exists=True)],
    project: ProjectOpt = None,
    env: EnvOpt = "live",
    fmt: Annotated[str, typer.Option("--format", help="footfall, segment, posthog or millimetric.")] = "footfall",
    reenrich: Annotated[bool, typer.Option("--reenrich", help="Run the pipeline again on Footfall's own rows.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Skip what an interrupted run of the same import stored.")] = False,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Rejected rows go here [default: <first path>.rejects.ndjson].")] = None,
    state: Annotated[Path | None, typer.Option("--state", help="Progress file for --resume [default: <first path>.import-state.json].")] = None,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1, help="Rows per store transaction (--data) or request (--server, ≤ 8 MB each) when Footfall's own events go in bulk (more: faster; fewer: less memory).")] = BULK_ROWS,
    data: DataOpt = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import events, identity links and profiles from files.

    Formats: footfall (this tool's export, kept as exported unless --reenrich), segment
    (Segment/RudderStack archive NDJSON), posthog (PostHog event export NDJSON), millimetric
    (/v1/batch items, one per line). Other tools' events go through the same enrichment as
    live ones; historical timestamps are kept. Idempotent: importing a file again stores
    nothing new. A bad row is written to the rejects file with its line number; it never stops
    the import. With --server (an sk_ key) the rows go through its /v1/import (Footfall's own
    events through /v1/import/events, in bulk); with --data the server must be stopped.
    """
    from footfall.model import Scope
    from footfall.portability.importer import HttpSink, LocalSink, Sink, run_import
    from footfall.portability.sources import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if env not in ("live", "test"):
        raise typer.BadParameter("--env is live or test")
    first = paths[0]
    scope = Scope(project or "(the key's project)", env)
    with _opened("import", data, server, key, project):
        sink: Sink = HttpSink(server, key or "") if server else LocalSink(settings_for(data), scope)
        try:
            with _progress() as bar:
                task = bar.add_task("import", total=None, rows=0, rate=0.0)
                started = datetime.now(UTC)

                def progress(rows: int, done: int, total: int) -> None:
                    seconds = max((datetime.now(UTC) - started).total_seconds(), 1e-3)
                    bar.update(task, completed=done, total=total, rows=rows, rate=rows / seconds)

                try:
                    report = run_import(
                        paths, fmt, scope, sink,
                        reenrich=reenrich, resume=resume, progress=progress, bulk_rows=batch_rows,
                        state_path=state or first.with_name(first.name + ".import-state.json"),
                        rejects_path=rejects or first.with_name(first.name + ".rejects.ndjson"),
                    )  # fmt: skip
                except ValueError as err:
                    raise _fail(str(err)) from None
        finally:
            sink.close()
    payload = {k: v for k, v in vars(report).items()}
    human = (
        f"imported {report.events} events, {report.links} links, {report.profiles} profile"
        f" updates from {report.rows} rows; {report.rejected} rejected"
        + (f" (see {rejects or first.with_name(first.name + '.rejects.ndjson')})" if report.rejected else "")
        + (f"; {report.skipped} done before (--resume)" if report.skipped else "")
    )
    emit(as_json, payload, human)


def backup(
    out: Annotated[Path, typer.Option("--out", help="New directory for the backup.")],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Back up a data directory, also while a server runs on it: the WAL, then a snapshot of
    the store at a WAL position (taken by the running server), then the control plane, with a
    manifest of sha256 sums. Restore it with `footfall restore`."""
    from footfall.portability.backup import BackupError
    from footfall.portability.backup import backup as run

    settings = settings_for(data)
    try:
        manifest = run(settings.data, out, settings)
    except BackupError as err:
        raise _fail(str(err)) from None
    emit(as_json, manifest, f"backed up {settings.data} to {out} (store at WAL position {manifest['store_seq']}, {len(manifest['files'])} files)")


def restore(
    backup_dir: Annotated[Path, typer.Argument(help="A directory made by `footfall backup`.", exists=True, file_okay=False)],
    data: Annotated[Path, typer.Option("--data", help="The new data directory (must not hold anything).")],
    as_json: JsonOpt = False,
) -> None:
    """Check a backup's sha256 sums and lay it out as a new data directory. A server started on
    it replays the WAL past the snapshot, as after a crash."""
    from footfall.portability.backup import BackupError
    from footfall.portability.backup import restore as run

    try:
        manifest = run(backup_dir, data)
    except BackupError as err:
        raise _fail(str(err)) from None
    emit(as_json, manifest, f"restored {backup_dir} into {data}; start it with: footfall serve --data {data}")
