"""`footfall import`: read files line by line, decode each row (`sources`), send batches to a
sink (a running server's `/v1/import`, or the data directory through the same pipeline, WAL and
loader), record how far each file is acknowledged so `--resume` goes on after a kill.

A bad row never stops the import: it goes to the rejects file with its file and line number.
Everything acknowledged is durable (WAL synced) and the loader skips rows it already stored, so
a resumed or repeated import stores every row exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import msgspec

from footfall.model import Scope
from footfall.portability.bulk import (
    BULK_ROWS,
    Chunk,
    batches,
    csv_records,
    parquet_chunks,
    parquet_records,
    parse,
)
from footfall.portability.sources import BadLine, Decoder, Records, Row, SourceFormat, decoder_for

__all__ = ["HttpSink", "ImportReport", "LocalSink", "Sink", "input_files", "run_import"]

# Rows per batch: each is one WAL group commit (an fsync), one progress-file rewrite and, in
# the loader, one store transaction, all costing about the same whatever the size; past ~10k
# rows the store's transaction is barely faster (bench/store_insert.py). 2,000 rows per batch
# imported ~20% slower (bench/portability.py, docs/portability.md).
BATCH_RECORDS = 10_000
BATCH_BYTES = 4 * 1024 * 1024  # a `/v1/import` body stays well under the server's 16 MB
_TABLE_ORDER = ("links", "events", "profiles")
_encode = msgspec.json.Encoder().encode
_DROPPED = "dropped as invalid (name, size or time out of range)"


Reject = tuple[int, str, Row | None]  # (line, why, row)


class Sink(Protocol):
    batch_bytes: int  # the most input bytes gathered into one `send`
    bulk: bool  # takes Footfall's own events in bulk (`send_rows`)
    bulk_bytes: int  # the most input bytes gathered into one `send_rows`

    def send(self, records: Records, reenrich: bool) -> list[int]:
        """Store the records durably; returns the indexes of events dropped as invalid."""

    def send_rows(self, header: bytes | None, lines: list[int], texts: list[bytes]) -> tuple[int, list[Reject]]:
        """Store rows of Footfall's events export durably, as they are (NDJSON lines, or CSV
        records under `header`); returns how many were stored and the rejected ones."""

    def close(self) -> None: ...


@dataclass
class ImportReport:
    rows: int = 0  # rows read (after --resume's skip)
    events: int = 0
    links: int = 0
    profiles: int = 0
    rejected: int = 0
    skipped: int = 0  # rows acknowledged by an earlier run (--resume)
    files: list[str] = field(default_factory=list)


def input_files(paths: list[Path]) -> list[Path]:
    """Files to read, an export directory expanded in the order its tables must load."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        files = sorted(p for p in path.iterdir() if p.is_file() and _table(p) and p.suffix != ".json")
        out.extend(sorted(files, key=lambda p: _TABLE_ORDER.index(_table(p) or "events")))
    return out


def _table(path: Path) -> str | None:
    stem = path.name.split(".")[0]
    return stem if stem in _TABLE_ORDER else None


def _is_csv(path: Path) -> bool:
    return path.suffix == ".csv" or path.name.endswith(".csv.gz")


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes, gunzipped by suffix."""
    with contextlib.ExitStack() as stack:
        raw: IO[bytes] = stack.enter_context(path.open("rb"))
        if path.suffix == ".gz":
            raw = stack.enter_context(gzip.GzipFile(fileobj=raw))  # type: ignore[arg-type]
        yield raw


def _rows(path: Path) -> Iterator[tuple[int, Row]]:
    """(line number, row) of an NDJSON file (gzip by suffix), a CSV file with a header (the
    line a record starts on; an empty field is null) or a Parquet file (row numbers)."""
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        yield from _csv_rows(path)
        return
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                n += 1
                yield n, row
        return
    with _opened(path) as raw:
        for n, line in enumerate(raw, 1):
            if line.strip():
                yield n, line


def _csv_rows(path: Path) -> Iterator[tuple[int, Row]]:
    import csv
    import io

    csv.field_size_limit(1 << 24)
    with contextlib.ExitStack() as stack:
        raw: IO[bytes] = stack.enter_context(path.open("rb"))
        if path.suffix == ".gz":
            raw = stack.enter_context(gzip.GzipFile(fileobj=raw))  # type: ignore[arg-type]
        text = stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        reader = csv.reader(text)
        header = next(reader, None) or []
        line = reader.line_num + 1
        for values in reader:  # a quoted field may span lines: report where the record starts
            yield line, {k: (v if v != "" else None) for k, v in zip(header, values, strict=False)}
            line = reader.line_num + 1


class _State:
    """How far each file is acknowledged, rewritten atomically after every batch."""

    def __init__(self, path: Path, fingerprint: dict[str, Any], resume: bool) -> None:
        self.path = path
        self.doc: dict[str, Any] = {"fingerprint": fingerprint, "files": {}}
        if resume and path.exists():
            doc = json.loads(path.read_text())
            if doc.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"{path} belongs to another import ({doc.get('fingerprint')}); run without"
                    " --resume to start over (an import is idempotent)"
                )
            self.doc = doc

    def done_upto(self, file: Path) -> int:
        return int(self.doc["files"].get(str(file), 0))

    def save(self, file: Path, line: int) -> None:
        self.doc["files"][str(file)] = line
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.doc))
        os.replace(tmp, self.path)


def run_import(
    paths: list[Path],
    fmt: SourceFormat,
    scope: Scope,
    sink: Sink,
    *,
    reenrich: bool,
    state_path: Path,
    rejects_path: Path,
    resume: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
    bulk_rows: int = BULK_ROWS,
) -> ImportReport:
    """Import every row of `paths`; `progress(rows, bytes_done, bytes_total)` after batches."""
    files = input_files(paths)
    fingerprint = {"project": scope.project_id, "env": scope.env, "format": fmt, "files": [str(f) for f in files]}
    run = _Run(sink, _State(state_path, fingerprint, resume), rejects_path, progress)
    run.report.files = [str(f) for f in files]
    run.total = sum(f.stat().st_size for f in files)
    try:
        for file in files:
            table = _table(file) or "events"
            if fmt == "footfall" and table == "events" and not reenrich and sink.bulk:
                run.bulk_file(file, resume, bulk_rows)
                continue
            # Footfall's own rows are already enriched; anything else goes through the pipeline.
            run.file(file, decoder_for(fmt, table), scope, reenrich or fmt != "footfall", resume)
    finally:
        run.close()
    return run.report


class _Run:
    def __init__(
        self, sink: Sink, state: _State, rejects_path: Path,
        progress: Callable[[int, int, int], None] | None,
    ) -> None:  # fmt: skip
        self.sink, self.state, self.rejects_path, self.progress = sink, state, rejects_path, progress
        self.report = ImportReport()
        self.total = self.done_bytes = 0
        self._rejects: IO[str] | None = None
        self._batch = Records()
        self._lines: list[int] = []  # the line of each event in the batch
        self._size = 0

    def file(self, file: Path, decode: Decoder, scope: Scope, enrich: bool, resume: bool) -> None:
        skip = self.state.done_upto(file) if resume else 0
        last = skip
        for line, row in _rows(file):
            if line <= skip:
                self.report.skipped += 1
                continue
            self.report.rows += 1
            last = line
            row_bytes = len(row) if isinstance(row, bytes) else 512
            self.done_bytes += row_bytes
            try:
                records = decode(row, scope)
            except BadLine as err:
                self.reject(file, line, str(err), row)
                continue
            self._lines.extend([line] * len(records.events))
            self._batch.extend(records)
            self._size += row_bytes
            if len(self._batch) >= BATCH_RECORDS or self._size >= self.sink.batch_bytes:
                self.flush(file, enrich, last)
        self.flush(file, enrich, last)

    def bulk_file(self, file: Path, resume: bool, size: int) -> None:
        """Footfall's own events, up to `size` rows per store transaction or request (`bulk`)."""
        skip = self.state.done_upto(file) if resume else 0
        if file.suffix == ".parquet":
            self.report.skipped += skip
            if isinstance(self.sink, LocalSink):  # Arrow's batches straight to the store
                for chunk, last, read in parquet_chunks(file, skip, size):
                    self.bulk_done(file, *self.sink.send_chunk(chunk), last, read)
                return
            for head, lines, texts in parquet_records(file, skip, size):  # as CSV to a server
                self.bulk_send(file, head, lines, texts, sum(map(len, texts)))
            return
        with _opened(file) as raw:
            records: Iterator[tuple[int, bytes]] = csv_records(raw) if _is_csv(file) else (
                (n, line) for n, line in enumerate(raw, 1) if line.strip()
            )  # fmt: skip
            header: bytes | None = next(records, (0, b""))[1] if _is_csv(file) else None
            for lines, texts, read in batches(self._past(records, skip), size, self.sink.bulk_bytes):
                self.bulk_send(file, header, lines, texts, read)

    def bulk_send(self, file: Path, header: bytes | None, lines: list[int], texts: list[bytes], read: int) -> None:
        events, rejects = self.sink.send_rows(header, lines, texts)
        self.bulk_done(file, events, rejects, lines[-1], read)

    def bulk_done(self, file: Path, events: int, rejects: list[Reject], last: int, read: int) -> None:
        """Rows up to line `last` are durable: report them and move the progress file on."""
        self.report.rows += events + len(rejects)
        self.report.events += events
        self.done_bytes += read
        for line, error, row in sorted(rejects, key=lambda r: r[0]):
            self.reject(file, line, error, row)
        self.state.save(file, last)
        if self.progress:
            self.progress(self.report.rows, self.done_bytes, self.total)

    def _past(self, rows: Iterator[tuple[int, bytes]], skip: int) -> Iterator[tuple[int, bytes]]:
        for line, row in rows:
            if line <= skip:
                self.report.skipped += 1
                continue
            yield line, row

    def flush(self, file: Path, enrich: bool, last: int) -> None:
        """Send the batch; once acknowledged (durable), record the file's line."""
        batch = self._batch
        if len(batch):
            for index in self.sink.send(batch, enrich):
                self.reject(file, self._lines[index], _DROPPED, None)
        self.report.events += len(batch.events)
        self.report.links += len(batch.links)
        self.report.profiles += len(batch.profiles)
        self.state.save(file, last)
        self._batch, self._lines, self._size = Records(), [], 0
        if self.progress:
            self.progress(self.report.rows, self.done_bytes, self.total)

    def reject(self, file: Path, line: int, error: str, raw: Row | None) -> None:
        if self._rejects is None:
            self._rejects = self.rejects_path.open("a", encoding="utf-8")
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else json.dumps(raw, default=str)
        row = text[:4096].rstrip("\n")
        self._rejects.write(json.dumps({"file": str(file), "line": line, "error": error, "row": row}) + "\n")
        self.report.rejected += 1

    def close(self) -> None:
        if self._rejects is not None:
            self._rejects.close()


class HttpSink:
    """A running server's `POST /v1/import` (its WAL: a 202 means durable); retries 503/429.
    Footfall's own events go as they are to `POST /v1/import/events`, parsed there in bulk."""

    batch_bytes = BATCH_BYTES
    bulk = True
    bulk_bytes = 2 * BATCH_BYTES  # a body well under the server's 16 MB

    def __init__(self, server: str, key: str, attempts: int = 30) -> None:
        self.client = httpx.Client(
            base_url=server.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, timeout=120
        )
        self.attempts = attempts

    def send(self, records: Records, reenrich: bool) -> list[int]:
        body = _encode({
            "events": records.events, "links": records.links, "profiles": records.profiles,
            "reenrich": reenrich,
        })  # fmt: skip
        dropped: list[int] = self._post("/v1/import", body, "application/json")["dropped"]
        return dropped

    def send_rows(self, header: bytes | None, lines: list[int], texts: list[bytes]) -> tuple[int, list[Reject]]:
        media = "application/x-ndjson" if header is None else "text/csv"
        answer = self._post("/v1/import/events", (header or b"") + b"".join(texts), media)
        rejects: list[Reject] = [(lines[r["index"]], r["error"], texts[r["index"]]) for r in answer["rejected"]]
        rejects.extend((lines[i], _DROPPED, None) for i in answer["dropped"])
        return int(answer["events"]), rejects

    def _post(self, path: str, body: bytes, media: str) -> dict[str, Any]:
        for attempt in range(self.attempts):
            try:
                r = self.client.post(path, content=body, headers={"Content-Type": media})
            except httpx.TransportError:
                if attempt == self.attempts - 1:
                    raise
                time.sleep(min(2**attempt * 0.1, 5))  # back-off before retrying the server
                continue
            if r.status_code in (429, 503):
                time.sleep(float(r.headers.get("retry-after", "1")))  # the server asked to wait
                continue
            if r.status_code != 202:
                raise RuntimeError(f"{path} answered {r.status_code}: {r.text[:500]}")
            answer: dict[str, Any] = r.json()
            return answer
        raise RuntimeError(f"{path} kept answering 503: the server is overloaded")

    def close(self) -> None:
        self.client.close()


# DuckDB's memory limit while an offline import runs (unless FOOTFALL_STORE_MEMORY is higher):
# the indexes it grows (sessions, visitor keys) live in that memory, and past ~3M imported
# events they outgrow the server's ~100 MB default ("could not allocate block"). The import is a
# process of its own, so its memory is not the server's.
IMPORT_STORE_MEMORY = 1 << 30
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(I?)B?\s*", re.IGNORECASE)


def _with_import_memory(settings: Any) -> Any:
    match = _SIZE.fullmatch(str(settings.store_memory))
    if match is None:  # a form this does not read: leave it to DuckDB
        return settings
    number, unit, binary = match.groups()
    size = float(number) * (1024 if binary else 1000) ** "BKMGT".index(unit.upper() or "B")
    if size >= IMPORT_STORE_MEMORY:
        return settings
    return dataclasses.replace(settings, store_memory=f"{IMPORT_STORE_MEMORY >> 20}MiB")


class LocalSink:
    """The data directory of a stopped server, through the same pipeline, WAL and loader.

    Opening the store fails while a server holds it (the embedded store admits one process).
    """

    batch_bytes = 4 * BATCH_BYTES  # no request body here: only the batch's memory bounds it
    bulk_bytes = 1 << 40  # `--batch-rows` bounds a chunk

    def __init__(self, settings: Any, scope: Scope) -> None:
        from footfall.model import Env, KeyKind, Principal
        from footfall.service import Footfall

        self.loop = asyncio.new_event_loop()
        self.service = Footfall(_with_import_memory(settings))
        try:
            self.service.project(scope.project_id)  # NotFound before anything is written
            self.loop.run_until_complete(self.service.start())
        except BaseException:
            self.service.store.close()
            self.service.meta.close()
            self.loop.close()
            raise
        self.principal = Principal(scope.project_id, Env(scope.env), KeyKind.SECRET, "import")
        from footfall.store.duckdb.store import DuckDBStore

        # Straight into the store, past the WAL (`Footfall.import_table`): on DuckDB, where a
        # commit is durable and the loader's thread orders it. ClickHouse's inserts are
        # deduplicated by WAL range, which such a write does not advance: row by row there.
        self.bulk = isinstance(self.service.store, DuckDBStore)

    def send(self, records: Records, reenrich: bool) -> list[int]:
        svc = self.service
        dropped = self.loop.run_until_complete(
            svc.import_records(self.principal, records.events, records.links, records.profiles, reenrich)
        )
        # Let the loader fall behind by at most half the server's bound (it gathers big
        # transactions meanwhile), then wait for it: the WAL holds everything, memory should not.
        if svc.loader.lag > svc.settings.max_lag // 2:
            self.loop.run_until_complete(svc.loader.wait_applied(svc.wal.last_seq - BATCH_RECORDS))
        return dropped

    def send_rows(self, header: bytes | None, lines: list[int], texts: list[bytes]) -> tuple[int, list[Reject]]:
        return self.send_chunk(parse(header, lines, texts))

    def send_chunk(self, chunk: Chunk) -> tuple[int, list[Reject]]:
        """Parsed exported events (`bulk.Chunk`) stored as they are, in one transaction."""
        table = chunk.table
        stored = self.loop.run_until_complete(self.service.import_table(self.principal, table)) if table.num_rows else []
        dropped: list[Reject] = [(chunk.lines[i], _DROPPED, None) for i in stored]
        return table.num_rows - len(stored), [*chunk.rejects, *dropped]

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.service.stop())
        finally:
            self.loop.close()
