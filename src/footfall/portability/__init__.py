"""Moving data in and out: export (Arrow batches → NDJSON/CSV/Parquet), import (other tools'
files → canonical records → the same pipeline, WAL and loader), backup and restore."""

EXPORT_FORMAT_VERSION = 1  # the shape of exported rows; bumped when a column changes meaning

# Rows per store transaction of an offline import of Footfall's own events (`bulk`): the
# per-transaction work (session upsert, commit, the visitor-hours fold) shrinks per row with
# size, ~31 µs of store CPU a row at 10k rows, ~18 µs at 50k (docs/portability.md), while a
# chunk of ~1 kB rows holds ~180 MB at its peak (lines, Arrow table, DuckDB's staging).
BULK_ROWS = 50_000
