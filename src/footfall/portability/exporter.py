"""`footfall export`: a project's tables to files (or stdout) plus a manifest.

The bytes come from the same place either way: `Footfall.export` (store rows as Arrow batches,
encoded by `formats`), in this process on a stopped data directory (after replaying its WAL),
or from a running server's `GET /v1/export`. Memory stays bounded: one batch at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import msgspec

from footfall.model import Scope
from footfall.portability import EXPORT_FORMAT_VERSION
from footfall.portability.formats import Format, writer_for
from footfall.store.base import EXPORT_ORDER, ExportQuery

__all__ = ["HttpSource", "LocalSource", "Source", "export_tables", "manifest_entry"]

_EXT = {"ndjson": "ndjson", "csv": "csv", "parquet": "parquet"}


class Source(Protocol):
    def chunks(self, query: ExportQuery, fmt: Format) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class LocalSource:
    """A stopped server's data directory: its WAL is replayed first, so every acknowledged
    event is exported. Opening fails while a server holds the store."""

    def __init__(self, settings: Any) -> None:
        from footfall.service import Footfall

        self.loop = asyncio.new_event_loop()
        self.service = Footfall(settings)
        try:
            self.loop.run_until_complete(self.service.start())
        except BaseException:
            self.service.store.close()
            self.loop.close()
            raise

    def chunks(self, query: ExportQuery, fmt: Format) -> Iterator[bytes]:
        writer = writer_for(fmt)
        stream: AsyncIterator[bytes] = self.loop.run_until_complete(
            self.service.export(query, writer.write)
        )
        try:
            while True:
                try:
                    yield self.loop.run_until_complete(anext(stream))
                except StopAsyncIteration:
                    break
        finally:
            self.loop.run_until_complete(stream.aclose())  # type: ignore[attr-defined]
        yield writer.finish()

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.service.stop())
        finally:
            self.loop.close()


class HttpSource:
    """A running server's `GET /v1/export` (rk_ or sk_ key), gzip on the wire."""

    def __init__(self, server: str, key: str) -> None:
        self.client = httpx.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {key}", "Accept-Encoding": "gzip"},
            timeout=httpx.Timeout(30, read=600),
        )

    def chunks(self, query: ExportQuery, fmt: Format) -> Iterator[bytes]:
        params: dict[str, str] = {"what": query.table, "format": fmt}
        if query.start is not None:
            params["from"] = query.start.isoformat()
        if query.end is not None:
            params["to"] = query.end.isoformat()
        with self.client.stream("GET", "/v1/export", params=params) as r:
            if r.status_code != 200:
                raise RuntimeError(f"/v1/export answered {r.status_code}: {r.read()[:500]!r}")
            yield from r.iter_bytes()

    def close(self) -> None:
        self.client.close()


def export_tables(
    source: Source,
    scope: Scope,
    tables: list[str],
    fmt: Format,
    out: Path | IO[bytes],
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Write each table to `out/<table>.<fmt>` (or the one table to a stream) and, for a
    directory, `manifest.json`; returns the manifest. `progress(table, rows, bytes)`."""
    files: dict[str, Any] = {}
    for table in tables:
        query = ExportQuery(scope=scope, table=table, start=start, end=end)  # type: ignore[arg-type]
        digest, size, rows = hashlib.sha256(), 0, 0
        if isinstance(out, Path):
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"{table}.{_EXT[fmt]}"
            fh: IO[bytes] = path.open("wb")
        else:
            path, fh = None, out
        try:
            for chunk in source.chunks(query, fmt):
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                rows += chunk.count(b"\n") if fmt == "ndjson" else 0
                if progress:
                    progress(table, rows, size)
        finally:
            if path is not None:
                fh.close()
            else:
                fh.flush()
        entry: dict[str, Any] = {"sha256": digest.hexdigest(), "bytes": size}
        if path is not None:
            entry.update(manifest_entry(path, fmt, EXPORT_ORDER[table][0]))
            files[path.name] = entry
        else:
            files[f"{table}.{_EXT[fmt]}"] = entry
    manifest = {
        "format_version": EXPORT_FORMAT_VERSION,
        "project_id": scope.project_id,
        "env": scope.env,
        "format": fmt,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "exported_at": datetime.now(UTC).isoformat(),
        "files": files,
    }
    if isinstance(out, Path):
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def manifest_entry(path: Path, fmt: Format, time_column: str) -> dict[str, Any]:
    """Rows and time range of a written file, read back (which also proves it parses)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    batches: Iterator[pa.RecordBatch]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        batches = pq.ParquetFile(path).iter_batches(columns=[time_column])
    elif fmt == "csv":
        import pyarrow.csv as pa_csv

        batches = iter(pa_csv.open_csv(
            path, convert_options=pa_csv.ConvertOptions(
                include_columns=[time_column], column_types={time_column: pa.string()}
            ),
        ))  # fmt: skip
    else:
        decode = msgspec.json.Decoder(msgspec.defstruct("Row", [(time_column, str | None, None)])).decode
        rows, first, last = 0, None, None
        with path.open("rb") as fh:
            for line in fh:
                rows += 1
                value = getattr(decode(line), time_column)
                if value is not None:
                    first = value if first is None or value < first else first
                    last = value if last is None or value > last else last
        return {"rows": rows, "first": first, "last": last}
    rows, lo, hi = 0, None, None
    for batch in batches:
        rows += batch.num_rows
        if batch.num_rows:
            column = batch.column(0).cast(pa.string())
            bounds = pc.min_max(column)
            b_lo, b_hi = bounds["min"].as_py(), bounds["max"].as_py()
            lo = b_lo if lo is None or (b_lo is not None and b_lo < lo) else lo
            hi = b_hi if hi is None or (b_hi is not None and b_hi > hi) else hi
    return {"rows": rows, "first": lo, "last": hi}
