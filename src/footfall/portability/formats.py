"""Arrow record batches from `Store.export` → NDJSON, CSV or Parquet bytes, chunk by chunk.

NDJSON is encoded by msgspec from Arrow's columns (one struct type per schema, one
`encode_lines` per batch: ~1.7x DuckDB's `to_json` on event rows); JSON text columns
(properties, profile attributes…) stay text, so an export imports back byte for byte.
Timestamps are ISO 8601 UTC with microseconds and `Z`.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pyarrow.parquet as pq

__all__ = ["FORMATS", "Format", "Writer", "media_type", "writer_for"]

Format = Literal["ndjson", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("ndjson", "csv", "parquet")
_UTC = pa.timestamp("us", tz="UTC")
_ISO = "%Y-%m-%dT%H:%M:%SZ"  # Arrow's %S carries the microseconds


def media_type(fmt: Format) -> str:
    return {
        "ndjson": "application/x-ndjson",
        "csv": "text/csv; charset=utf-8",
        "parquet": "application/vnd.apache.parquet",
    }[fmt]


class Writer(Protocol):
    def write(self, batch: pa.RecordBatch) -> bytes:
        """The bytes of one batch (for Parquet, whatever the file writer flushed)."""

    def finish(self) -> bytes:
        """The closing bytes (Parquet's footer; nothing for the text formats)."""


def _utc(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Timestamps tagged UTC, whatever the store returned (naive UTC or tagged)."""
    columns = [
        c.cast(_UTC) if pa.types.is_timestamp(c.type) else c for c in batch.columns
    ]
    names = batch.schema.names
    return pa.RecordBatch.from_arrays(columns, names=names)


class _Ndjson:
    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._row: tuple[tuple[str, ...], type[Any]] | None = None

    def write(self, batch: pa.RecordBatch) -> bytes:
        if batch.num_rows == 0:
            return b""
        names = tuple(batch.schema.names)
        if self._row is None or self._row[0] != names:
            # A struct per schema: msgspec encodes a list of them as NDJSON in one C call.
            self._row = (names, msgspec.defstruct("Row", [(n, object) for n in names]))
        columns = [
            (pc.strftime(c.cast(_UTC), format=_ISO) if pa.types.is_timestamp(c.type) else c).to_pylist()
            for c in batch.columns
        ]
        row = self._row[1]
        return self._encoder.encode_lines([row(*values) for values in zip(*columns, strict=True)])

    def finish(self) -> bytes:
        return b""


class _Csv:
    def __init__(self) -> None:
        self._header = True

    def write(self, batch: pa.RecordBatch) -> bytes:
        # Imported on first use, as Parquet's below: the server starts without them (~9 MB).
        import pyarrow.csv as pa_csv

        out = io.BytesIO()
        pa_csv.write_csv(
            _utc(batch), out, pa_csv.WriteOptions(include_header=self._header)
        )
        self._header = False
        return out.getvalue()

    def finish(self) -> bytes:
        return b""


class _Parquet:
    """Batches gathered into row groups of ~ROW_GROUP_ROWS: the writer keeps every row group's
    metadata (statistics of each column) until the footer, so one small row group per batch
    held ~1 GB at 10M events; a row group of this size holds ~50 MB of rows meanwhile."""

    ROW_GROUP_ROWS = 50_000

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.RecordBatch] = []
        self._rows = 0

    def write(self, batch: pa.RecordBatch) -> bytes:
        batch = _utc(batch)
        if self._writer is None:
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self._buffer, batch.schema, compression="zstd")
        self._pending.append(batch)
        self._rows += batch.num_rows
        if self._rows < self.ROW_GROUP_ROWS:
            return b""
        return self._flush()

    def finish(self) -> bytes:
        if self._writer is None:
            return b""
        head = self._flush()
        self._writer.close()
        return head + self._drain()

    def _flush(self) -> bytes:
        if self._pending and self._writer is not None:
            self._writer.write_table(pa.Table.from_batches(self._pending), row_group_size=self._rows)
        self._pending, self._rows = [], 0
        return self._drain()

    def _drain(self) -> bytes:
        data = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data


def writer_for(fmt: Format) -> Writer:
    if fmt == "ndjson":
        return _Ndjson()
    return _Csv() if fmt == "csv" else _Parquet()
