"""Loader batches as Arrow tables: the NDJSON of the canonical structs, parsed once, columnar.

Both backends insert these (DuckDB scans them in place, ClickHouse receives them as Arrow).
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.json as pa_json

__all__ = ["EVENT_SCHEMA", "LINK_SCHEMA", "ndjson_table"]

_TS = pa.timestamp("us", tz="UTC")
_STR = pa.string()

EVENT_SCHEMA = pa.schema(
    [
        ("project_id", _STR),
        ("env", _STR),
        ("uid", _STR),
        ("event_id", _STR),
        ("name", _STR),
        ("ts", _TS),
        ("received_at", _TS),
        ("anonymous_id", _STR),
        ("user_id", _STR),
        ("session_id", _STR),
        ("url", _STR),
        ("path", _STR),
        ("referrer", _STR),
        ("properties", _STR),
        ("dialect", _STR),
        ("source", _STR),
        ("medium", _STR),
        ("campaign", _STR),
        ("utm_term", _STR),
        ("utm_content", _STR),
        ("campaign_id", _STR),
        ("click_id_type", _STR),
        ("click_id", _STR),
        ("source_confidence", _STR),
        ("source_rule_id", _STR),
        ("referrer_host", _STR),
        ("channel", _STR),
        ("country", _STR),
        ("region", _STR),
        ("city", _STR),
        ("device_type", _STR),
        ("browser", _STR),
        ("browser_version", _STR),
        ("os", _STR),
        ("os_version", _STR),
        ("device_brand", _STR),
        ("device_model", _STR),
        ("is_bot", pa.bool_()),
        ("ip_hash", _STR),
        ("ip", _STR),
        ("user_agent", _STR),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("time_zone", _STR),
        ("isp", _STR),
        ("organization", _STR),
    ]
)
LINK_SCHEMA = pa.schema(
    [("project_id", _STR), ("env", _STR), ("anonymous_id", _STR), ("user_id", _STR), ("ts", _TS)]
)


def ndjson_table(data: bytes, schema: pa.Schema) -> pa.Table:
    table = pa_json.read_json(
        io.BytesIO(data),
        read_options=pa_json.ReadOptions(block_size=max(1 << 20, len(data) + 1)),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="ignore"
        ),
    )
    # DuckDB stores naive UTC timestamps; Arrow keeps the instant when dropping the zone.
    for i, field in enumerate(table.schema):
        if field.type == _TS:
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("us")))
    return table
