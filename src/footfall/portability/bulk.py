"""Footfall's own exported events, read as large Arrow tables instead of row by row.

An export's event rows are already canonical and enriched, so an offline import of them needs
no per-row decode → pipeline → re-encode: a chunk of NDJSON lines is parsed by Arrow in one
call (Parquet batches are read as they are) and handed to the store whole, which dedupes and
folds sessions, rollups and the loader-kept tables once per chunk. Line numbers are kept per
row, so rejects still name their line. A chunk Arrow cannot parse row for row (a malformed
line, two objects on one line) goes through the per-row decoder, which names each bad line
and re-encodes the good ones canonically.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from footfall.model import Event
from footfall.portability import BULK_ROWS
from footfall.portability.sources import BadLine, Row, event_struct
from footfall.store.batch import EVENT_SCHEMA, ndjson_table

__all__ = ["BULK_ROWS", "Chunk", "ndjson_chunks", "parquet_chunks"]

_REQUIRED = ("uid", "name", "ts", "received_at")  # `Event`'s fields without a default
_NAIVE = pa.timestamp("us")
# EVENT_SCHEMA as `ndjson_table` returns it: times naive UTC, as DuckDB stores them.
_SCHEMA = pa.schema([pa.field(f.name, _NAIVE if pa.types.is_timestamp(f.type) else f.type) for f in EVENT_SCHEMA])
_encode = msgspec.json.Encoder().encode


@dataclass
class Chunk:
    table: pa.Table  # EVENT_SCHEMA columns, naive UTC times
    lines: list[int]  # the line (row number) of each row of `table`
    rejects: list[tuple[int, str, Row | None]] = field(default_factory=list)  # (line, why, row)


def ndjson_chunks(rows: Iterable[tuple[int, Row]], size: int = BULK_ROWS) -> Iterator[tuple[Chunk, int, int]]:
    """(chunk, last line read, bytes read) for every `size` lines of `rows`."""
    lines: list[int] = []
    texts: list[bytes] = []
    read = 0
    for line, text in rows:
        assert isinstance(text, bytes)
        lines.append(line)
        texts.append(text if text.endswith(b"\n") else text + b"\n")
        read += len(text)
        if len(lines) >= size:
            yield _parse(lines, texts), line, read
            lines, texts, read = [], [], 0
    if lines:
        yield _parse(lines, texts), lines[-1], read


def _parse(lines: list[int], texts: list[bytes]) -> Chunk:
    try:
        table = ndjson_table(b"".join(texts), EVENT_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = None
    if table is None or table.num_rows != len(lines):  # two objects on a line, say
        return _row_by_row(list(zip(lines, texts, strict=True)))
    return _required(Chunk(table, lines), texts)


def parquet_chunks(path: Path, skip: int, size: int = BULK_ROWS) -> Iterator[tuple[Chunk, int, int]]:
    """(chunk, last row read, ~bytes read) for the rows of a Parquet export past `skip`."""
    first = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=size):
        n = batch.num_rows
        if first + n - 1 > skip:
            lines = list(range(max(first, skip + 1), first + n))
            part = batch.slice(lines[0] - first)
            try:
                chunk = _required(Chunk(_conform(part), lines))
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                chunk = _row_by_row(list(zip(lines, part.to_pylist(), strict=True)))
            yield chunk, lines[-1], 512 * len(lines)
        first += n


def _conform(batch: pa.RecordBatch) -> pa.Table:
    """The batch as EVENT_SCHEMA's columns and types (a column it lacks is NULL)."""
    columns = []
    for f in _SCHEMA:
        if f.name not in batch.schema.names:
            columns.append(pa.nulls(batch.num_rows, f.type))
        elif f.type == _NAIVE:  # an instant whatever its zone (a naive one is UTC)
            column = batch.column(f.name)
            zoned = column.type.tz is not None if pa.types.is_timestamp(column.type) else False
            columns.append(column.cast(pa.timestamp("us", tz="UTC")).cast(_NAIVE) if zoned else column.cast(_NAIVE))
        else:
            columns.append(batch.column(f.name).cast(f.type))
    return pa.Table.from_arrays(columns, schema=_SCHEMA)


def _required(chunk: Chunk, texts: list[bytes] | None = None) -> Chunk:
    """Rows missing a field `Event` requires are rejected, as the row decoder would."""
    table = chunk.table
    missing = [pc.is_null(table.column(name)).combine_chunks() for name in _REQUIRED]
    bad = missing[0]
    for m in missing[1:]:
        bad = pc.or_(bad, m)
    if not bad.true_count:
        return chunk
    flags = bad.to_pylist()
    names = [[n for n, m in zip(_REQUIRED, row, strict=True) if m] for row in zip(*(m.to_pylist() for m in missing), strict=True)]
    keep = [i for i, b in enumerate(flags) if not b]
    rejects: list[tuple[int, str, Row | None]] = [
        (chunk.lines[i], f"Object missing required field `{names[i][0]}`", texts[i] if texts else None)
        for i, b in enumerate(flags) if b
    ]  # fmt: skip
    return Chunk(table.take(pa.array(keep, pa.int64())), [chunk.lines[i] for i in keep], rejects)


def _row_by_row(rows: list[tuple[int, Row]]) -> Chunk:
    """The per-row decoder's verdict on each row; the good ones re-encoded canonically (what
    the WAL would hold), which Arrow always parses."""
    good: list[int] = []
    texts: list[bytes] = []
    rejects: list[tuple[int, str, Row | None]] = []
    for line, row in rows:
        try:
            event: Event = event_struct(row)
        except BadLine as err:
            rejects.append((line, str(err), row))
            continue
        good.append(line)
        texts.append(_encode(event) + b"\n")
    table = ndjson_table(b"".join(texts), EVENT_SCHEMA) if texts else _SCHEMA.empty_table()
    return Chunk(table, good, rejects)
