"""Idempotency by event_id without copying the batch or reading every stored event's id.

A batch that carries event ids must skip the later copies of an id within it and the ids
already stored. The loader used to do both in one statement that materialised the whole batch
(every column, ~1 kB a row) and compared it with three string columns of every stored event, so
it slowed down as the table grew. Now only the rows to drop are computed, from narrow columns,
and the batch is filtered in Arrow, so `staged` stays a view of it.

`event_keys` keeps one 64-bit key per stored event id (the low half of the MD5 of project, env
and id): the check scans that one integer column, and only the rows whose key is there (a
retry, or a collision) are compared with `events` exactly. The keys are a filter, never the
answer: a key whose event is gone (forget deletes both) or a colliding one only costs the exact
comparison.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["KEY", "REMEMBER_KEYS", "ROW", "without_stored"]

# MD5 is fixed by its definition, unlike DuckDB's `hash`, which may change between versions
# and would leave the stored keys unmatched.
KEY = "md5_number_lower(concat_ws(chr(31), project_id, env, event_id))"
ROW = "_row"  # the row's position in the Arrow batch

# Later copies of an id in the batch: the first received stays.
_REPEATED = f"""
SELECT {ROW} FROM {{source}} WHERE event_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY project_id, env, event_id ORDER BY received_at, {ROW}) > 1
"""
_MAYBE_STORED = f"""
SELECT {ROW} FROM {{source}}
WHERE event_id IS NOT NULL AND {KEY} IN (SELECT k FROM event_keys)
"""
_STORED = f"""
SELECT {ROW} FROM {{source}} b
WHERE {ROW} IN (SELECT unnest($rows)) AND EXISTS (
    SELECT 1 FROM events e
    WHERE e.project_id = b.project_id AND e.env = b.env AND e.event_id = b.event_id)
"""

# Imported rows are also unique by uid: a file imported twice, or an import resumed after a
# kill, carries the same uids. A copy has the same ts too, so the lookup reads only the row
# groups of the batch's time range (and its uid column).
_REPEATED_UID = f"""
SELECT {ROW} FROM {{source}}
QUALIFY row_number() OVER (PARTITION BY project_id, env, uid ORDER BY received_at, {ROW}) > 1
"""
_STORED_UID = f"""
SELECT {ROW} FROM {{source}} b SEMI JOIN (
    SELECT project_id, env, uid FROM events
    WHERE ts >= (SELECT min(ts) FROM {{source}}) AND ts <= (SELECT max(ts) FROM {{source}})
) e USING (project_id, env, uid)
"""

# After the insert: the keys of the new rows that carry an id.
REMEMBER_KEYS = f"INSERT INTO event_keys SELECT {KEY} FROM staged WHERE event_id IS NOT NULL"


def without_stored(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, name: str, by_uid: bool = False
) -> pa.Table:
    """`batch` without its repeated ids and without the ids already stored (with `by_uid`,
    the same for uids); registers the result as `name` (the caller unregisters it)."""
    batch = batch.append_column(ROW, _int32(np.arange(batch.num_rows)))
    con.register(name, batch)
    drop = []
    # A window over the batch costs a few milliseconds however small it is (#23, sixth pass);
    # when every id in it is distinct (the usual batch), Arrow says so in microseconds.
    if not _distinct(batch.column("event_id"), "only_valid"):
        drop += [r for (r,) in con.execute(_REPEATED.format(source=name)).fetchall()]
    if by_uid:
        # NULL is one partition of the window: "all" counts it as one value too.
        repeated = () if _distinct(batch.column("uid"), "all") else (_REPEATED_UID,)
        for sql in (*repeated, _STORED_UID):
            drop += [r for (r,) in con.execute(sql.format(source=name)).fetchall()]
    maybe = [r for (r,) in con.execute(_MAYBE_STORED.format(source=name)).fetchall()]
    if maybe:
        drop += [r for (r,) in con.execute(_STORED.format(source=name), {"rows": maybe}).fetchall()]
    if drop:
        keep = pc.invert(pc.is_in(batch.column(ROW), value_set=_int32(np.array(drop))))
        batch = batch.filter(keep)
        con.register(name, batch)
    return batch


def _distinct(column: pa.ChunkedArray, mode: str) -> bool:
    """Are the values of `column` (with `mode` "only_valid": its non-NULL ones) all distinct?
    Then no (project, env, value) repeats either."""
    counted = len(column) - (column.null_count if mode == "only_valid" else 0)
    return bool(pc.count_distinct(column, mode=mode).as_py() == counted)


def _int32(values: np.ndarray) -> pa.Array:
    """An Arrow int32 array over `values`' buffer. `pa.array` would first ask whether the input
    is a pandas object, which imports pandas when it is installed: ~35 MB of the server's RSS
    and a second of the loader's first transaction (#23)."""
    values = np.ascontiguousarray(values, dtype=np.int32)
    return pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(values)])
