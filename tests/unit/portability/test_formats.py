"""Arrow batches → NDJSON, CSV, Parquet."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from footfall.portability.formats import writer_for

BATCH = pa.RecordBatch.from_pydict({
    "ts": pa.array([datetime(2026, 1, 2, 3, 4, 5, 6), None], pa.timestamp("us")),
    "properties": ['{"a":"\\u0000"}', "é\u2028"],
    "n": [0.1, None],
    "flag": [True, False],
})  # fmt: skip


def test_ndjson_is_one_object_per_line_with_iso_utc_times_and_text_kept() -> None:
    w = writer_for("ndjson")
    data = w.write(BATCH) + w.write(BATCH.slice(0, 0)) + w.finish()
    rows = [json.loads(x) for x in data.split(b"\n") if x]
    assert rows[0] == {"ts": "2026-01-02T03:04:05.000006Z", "properties": '{"a":"\\u0000"}', "n": 0.1, "flag": True}
    assert rows[1]["properties"] == "é\u2028" and rows[1]["ts"] is None and data.count(b"\n") == 2


def test_csv_header_once_and_parquet_round_trips() -> None:
    w = writer_for("csv")
    text = (w.write(BATCH) + w.write(BATCH) + w.finish()).decode()
    assert text.count('"ts","properties","n","flag"') == 1
    p = writer_for("parquet")
    data = p.write(BATCH) + p.write(BATCH) + p.finish()
    table = pq.read_table(io.BytesIO(data))
    assert table.num_rows == 4 and table.column("ts")[0].as_py() == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_parquet_gathers_batches_into_large_row_groups() -> None:
    """One row group per 1k-row batch kept every group's statistics until the footer (~1 GB
    at 10M events); batches are gathered into groups of ROW_GROUP_ROWS rows."""
    w = writer_for("parquet")
    big = pa.RecordBatch.from_pydict({"i": list(range(1000)), "ts": pa.array([datetime(2026, 1, 1)] * 1000, pa.timestamp("us"))})
    data = b"".join(w.write(big) for _ in range(120)) + w.finish()
    f = pq.ParquetFile(io.BytesIO(data))
    assert [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)] == [50_000, 50_000, 20_000]
    assert f.read().column("i").to_pylist() == list(range(1000)) * 120
