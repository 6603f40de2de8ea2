"""Moving data in and out: export (Arrow batches → NDJSON/CSV/Parquet), import (other tools'
files → canonical records → the same pipeline, WAL and loader), backup and restore."""

EXPORT_FORMAT_VERSION = 1  # the shape of exported rows; bumped when a column changes meaning
