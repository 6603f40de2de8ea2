"""Footfall's own exported events, read as large Arrow tables instead of row by row.

An export's event rows are already canonical and enriched, so an import of them needs no
per-row decode → pipeline → re-encode: a chunk of NDJSON lines or CSV records is parsed by
Arrow in one call (Parquet batches are read as they are) and handed to the store whole, which
dedupes and folds sessions, rollups and the loader-kept tables once per chunk. Offline, the
importer does this itself; through a server, it sends the chunk's raw lines to `POST
/v1/import/events`, which parses them with the same functions (`parse_body`). Line numbers are
kept per row, so rejects still name their line. A chunk Arrow cannot parse row for row (a
malformed line, two objects on one line, a CSV record with a field too many) goes through the
per-row decoder, which names each bad line and re-encodes the good ones canonically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from footfall.model import Event
from footfall.portability import BULK_ROWS
from footfall.portability.sources import BadLine, Row, event_struct
from footfall.store.batch import EVENT_SCHEMA, ndjson_table

__all__ = [
    "BULK_ROWS", "Chunk", "batches", "csv_records", "parquet_chunks", "parquet_records", "parse", "parse_body",
]  # fmt: skip

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


def batches(records: Iterable[tuple[int, bytes]], size: int, max_bytes: int = 1 << 62) -> Iterator[tuple[list[int], list[bytes], int]]:
    """(lines, texts, bytes) for every `size` records (or `max_bytes` of them)."""
    lines: list[int] = []
    texts: list[bytes] = []
    read = 0
    for line, text in records:
        lines.append(line)
        texts.append(text if text.endswith(b"\n") else text + b"\n")
        read += len(text)
        if len(lines) >= size or read >= max_bytes:
            yield lines, texts, read
            lines, texts, read = [], [], 0
    if lines:
        yield lines, texts, read


def csv_records(raw: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line a record starts on, its bytes) of CSV text, the header first. A quoted field may
    span lines; quotes inside one are doubled, so a record ends at the first line end after an
    even number of quotes. Blank lines between records are skipped."""
    parts: list[bytes] = []
    start = 0
    quoted = False
    for n, line in enumerate(raw, 1):
        if not parts:
            if not line.strip():
                continue
            start = n
        parts.append(line)
        if line.count(b'"') % 2:
            quoted = not quoted
        if not quoted:
            yield start, b"".join(parts)
            parts = []
    if parts:  # an unclosed quote: the parser names it
        yield start, b"".join(parts)


def parse(header: bytes | None, lines: list[int], texts: list[bytes]) -> Chunk:
    """The rows of `texts` (NDJSON lines, or CSV records under `header`) as a Chunk."""
    table: pa.Table | None
    try:
        table = ndjson_table(b"".join(texts), EVENT_SCHEMA) if header is None else _csv_table(header, texts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        table = None
    if table is None or table.num_rows != len(lines):  # two objects on a line, say
        rows: list[tuple[int, Row]] = []
        rows.extend(zip(lines, texts, strict=True) if header is None else _csv_dicts(header, lines, texts))
        return _row_by_row(rows)
    return _required(Chunk(table, lines), texts)


def parse_body(body: bytes, csv_header: bool) -> Chunk:
    """A request body of Footfall's own event rows (NDJSON, or CSV with its header) as a
    Chunk whose `lines` are the records' indexes in the body, from 0."""
    records = csv_records(io.BytesIO(body)) if csv_header else (
        (n, line) for n, line in enumerate(io.BytesIO(body), 1) if line.strip()
    )  # fmt: skip
    header = next(records, (0, b""))[1] if csv_header else None
    texts = [text for _n, text in records]
    texts = [t if t.endswith(b"\n") else t + b"\n" for t in texts]
    return parse(header, list(range(len(texts))), texts)


_CSV_TYPES = {f.name: (pa.timestamp("us", tz="UTC") if f.type == _NAIVE else f.type) for f in _SCHEMA}


def _csv_table(header: bytes, texts: list[bytes]) -> pa.Table:
    """Footfall's CSV export (`formats._Csv`): a bare empty field is NULL, a quoted one the
    empty string; columns the header lacks are NULL, others it has are ignored."""
    import pyarrow.csv as pa_csv  # only for CSV bodies: a server that never sees one never loads it

    data = header + b"".join(texts)
    table = pa_csv.read_csv(
        io.BytesIO(data),
        read_options=pa_csv.ReadOptions(use_threads=False, block_size=max(1 << 20, len(data) + 1)),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=_CSV_TYPES, include_columns=list(_CSV_TYPES), include_missing_columns=True,
            strings_can_be_null=True, quoted_strings_can_be_null=False,
        ),
    )  # fmt: skip
    return _conform(table)


def _csv_dicts(header: bytes, lines: list[int], texts: list[bytes]) -> list[tuple[int, Row]]:
    """Each record as the row decoder takes CSV (text values, an empty field null), or as the
    bytes of a record that is not one row of the header's width (rejected as malformed)."""
    names = (_csv_values(header) or [[]])[0]
    out: list[tuple[int, Row]] = []
    for line, text in zip(lines, texts, strict=True):
        values = _csv_values(text)
        if len(values) == 1 and len(values[0]) == len(names) and names:
            out.append((line, {k: (v if v != "" else None) for k, v in zip(names, values[0], strict=True)}))
        else:
            fields = "+".join(str(len(v)) for v in values) or "0"
            out.append((line, _Malformed(text, f"a CSV record of {fields} fields; the header has {len(names)}")))
    return out


def _csv_values(text: bytes) -> list[list[str]]:
    """The records Python's csv module reads in `text` (none if it cannot)."""
    try:
        return list(csv.reader(io.StringIO(text.decode("utf-8", "replace"), newline="")))
    except csv.Error:
        return []


class _Malformed(bytes):
    """A record's bytes that the row decoder must reject, and why."""

    why: str

    def __new__(cls, text: bytes, why: str) -> _Malformed:
        self = super().__new__(cls, text)
        self.why = why
        return self


def parquet_chunks(path: Path, skip: int, size: int = BULK_ROWS) -> Iterator[tuple[Chunk, int, int]]:
    """(chunk, last row read, ~bytes read) for the rows of a Parquet export past `skip`."""
    for lines, part in _parquet_parts(path, skip, size):
        try:
            chunk = _required(Chunk(_conform(part), lines))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            chunk = _row_by_row(list(zip(lines, part.to_pylist(), strict=True)))
        yield chunk, lines[-1], 512 * len(lines)


def parquet_records(path: Path, skip: int, size: int = BULK_ROWS) -> Iterator[tuple[bytes, list[int], list[bytes]]]:
    """(CSV header, row numbers, CSV records) for the rows of a Parquet export past `skip`:
    written by Arrow as Footfall's CSV export is, for a server to parse (`parse_body`)."""
    import pyarrow.csv as pa_csv

    for lines, part in _parquet_parts(path, skip, size):
        columns = [
            c.cast(pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(c.type) and c.type.tz is None else c
            for c in part.columns
        ]  # a naive time is UTC
        out = io.BytesIO()
        pa_csv.write_csv(pa.RecordBatch.from_arrays(columns, names=part.schema.names), out)
        records = csv_records(io.BytesIO(out.getvalue()))
        header = next(records)[1]
        yield header, lines, [text for _n, text in records]


def _parquet_parts(path: Path, skip: int, size: int) -> Iterator[tuple[list[int], pa.RecordBatch]]:
    import pyarrow.parquet as pq  # the command's, never the server's

    first = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=size):
        n = batch.num_rows
        if first + n - 1 > skip:
            lines = list(range(max(first, skip + 1), first + n))
            yield lines, batch.slice(lines[0] - first)
        first += n


def _conform(batch: pa.RecordBatch | pa.Table) -> pa.Table:
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
        if isinstance(row, _Malformed):
            rejects.append((line, row.why, row))
            continue
        try:
            event: Event = event_struct(row)
        except BadLine as err:
            rejects.append((line, str(err), row))
            continue
        good.append(line)
        texts.append(_encode(event) + b"\n")
    table = ndjson_table(b"".join(texts), EVENT_SCHEMA) if texts else _SCHEMA.empty_table()
    return Chunk(table, good, rejects)
