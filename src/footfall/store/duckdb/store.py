"""The embedded store: one DuckDB file in the data directory, fed Arrow batches by one thread."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.json as pa_json

from footfall.errors import StoreUnavailable
from footfall.read.queries import (
    AttributionQuery,
    FunnelQuery,
    PageQuery,
    SessionsQuery,
    SessionSummaryQuery,
    SourcesQuery,
    StatsQuery,
)
from footfall.store.base import EventQuery, ForgetResult, Scope, SessionTail
from footfall.store.duckdb import credit, funnels, reads, rollups
from footfall.store.duckdb.profiles import apply_profile_updates, read_profile
from footfall.store.duckdb.reclassify import (
    SESSION_SPAN,
    SLICE_BOUNDS,
    TOUCHED,
    changed_sql,
    differing_sql,
    has_signal,
    update_sql,
)
from footfall.store.duckdb.sessions import REBUILD_SESSIONS, UPSERT_SESSIONS
from footfall.store.migrations import apply_all

__all__ = ["DuckDBStore"]

log = logging.getLogger("footfall.store")

# Arrow's default pool (mimalloc) keeps freed batch memory for reuse, which grows the server's
# RSS under load; the system allocator hands it back.
pa.set_memory_pool(pa.system_memory_pool())

_TS = pa.timestamp("us", tz="UTC")
_COMPACT_EVERY = 200  # store transactions between rollup compactions
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
_DEFAULTS = {"properties": "'{}'", "dialect": "'millimetric'", "is_bot": "false"}
_EVENT_SELECT = ", ".join(
    f"coalesce(b.{f.name}, {_DEFAULTS[f.name]}) AS {f.name}"
    if f.name in _DEFAULTS
    else f"b.{f.name}"
    for f in EVENT_SCHEMA
)
_EVENT_COLUMNS = ", ".join(f.name for f in EVENT_SCHEMA)

# Events without an event_id are unique by their server-made uid: all of them are new.
_STAGE_PLAIN = f"SELECT {_EVENT_SELECT} FROM batch b WHERE b.event_id IS NULL"
# Idempotency: the first copy of an event_id in the batch wins, and none already stored is
# inserted again. Only batches that carry event_ids pay for the lookup.
_STAGE_DEDUPED = f"""
SELECT {_EVENT_SELECT} FROM (
    SELECT *, row_number() OVER (
        PARTITION BY project_id, env, event_id ORDER BY received_at
    ) AS _copy
    FROM batch WHERE event_id IS NOT NULL
) b
WHERE b._copy = 1
  AND NOT EXISTS (
      SELECT 1 FROM events e
      WHERE e.project_id = b.project_id AND e.env = b.env AND e.event_id = b.event_id)
"""
# First link of an anonymous id wins; a link back into its own chain (a cycle) is ignored.
_INSERT_LINKS = """
INSERT INTO identities (project_id, env, anonymous_id, user_id, ts)
SELECT project_id, env, anonymous_id, arg_min(user_id, ts), min(ts) FROM links l
WHERE l.anonymous_id <> l.user_id AND NOT EXISTS (
    SELECT 1 FROM identities j
    WHERE j.project_id = l.project_id AND j.env = l.env
      AND j.anonymous_id = l.user_id AND j.user_id = l.anonymous_id)
GROUP BY ALL
ON CONFLICT DO NOTHING
"""
# Alias chains (a → b, then b → c): every link points straight at the end of its chain, so one
# join resolves a person however the aliases arrived. Run until nothing changes (bounded).
_COMPRESS_LINKS = """
UPDATE identities SET user_id = j.user_id
FROM identities j
WHERE identities.project_id = j.project_id AND identities.env = j.env
  AND identities.user_id = j.anonymous_id
  AND j.user_id <> identities.anonymous_id
  AND identities.user_id <> j.user_id
"""

QUERY_COLUMNS = (
    "event_name",
    "event_id",
    "anonymous_id",
    "user_id",
    "session_id",
    "source",
    "medium",
    "campaign",
    "source_confidence",
    "source_rule_id",
    "channel",
    "referrer",
    "url",
    "path",
    "country",
    "device_type",
    "properties",
)


def _ndjson_table(data: bytes, schema: pa.Schema) -> pa.Table:
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


class DuckDBStore:
    def __init__(self, path: Path, threads: int = 2, memory: str = "1GB") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Fewer threads leave more CPU to the event loop (faster ingestion); more make reads
        # faster. Measured on 2 cores: see docs/performance.md.
        self.threads = threads
        self.memory = memory
        self._con = _connect(path, threads, memory)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._gate = _Gate()  # readers share, purge swaps the file exclusively
        self._appends = 0
        self._generation = 0

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> None:
        con = self._con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR)"
        )
        done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}

        def apply(version: int, name: str, sql: str) -> None:
            con.execute("BEGIN")
            try:
                con.execute(sql)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, name])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

        apply_all("footfall.store.duckdb", done, apply)

    def schema_version(self) -> int:
        row = self._con.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # -- writes (loader thread) ----------------------------------------------------------
    def applied_seq(self) -> int:
        row = self._con.execute("SELECT applied_seq FROM loader_state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def append(
        self, events: bytes, links: bytes, upto_seq: int, profiles: list[bytes] | None = None
    ) -> int:
        with self._write_lock:
            con = self._con
            inserted = 0
            con.execute("BEGIN")
            try:
                if events:
                    batch = _ndjson_table(events, EVENT_SCHEMA)
                    con.register("batch", batch)
                    try:
                        with_ids = batch.column("event_id").null_count < batch.num_rows
                        # Without event ids every row is new: `staged` is just a view of the
                        # batch, not a copy. With them, the dedupe runs once, materialised.
                        kind = "TABLE" if with_ids else "VIEW"
                        staged = (_STAGE_PLAIN, _STAGE_DEDUPED) if with_ids else (_STAGE_PLAIN,)
                        con.execute(
                            f"CREATE OR REPLACE TEMP {kind} staged AS " + " UNION ALL ".join(staged)
                        )
                        row = con.execute(
                            f"INSERT INTO events ({_EVENT_COLUMNS}) SELECT * FROM staged"
                        ).fetchone()
                        inserted = int(row[0]) if row else 0
                        con.execute(UPSERT_SESSIONS)
                        con.execute(rollups.APPEND)
                        con.execute(f"DROP {kind} staged")
                        self._appends += 1
                        if self._appends % _COMPACT_EVERY == 0:
                            for sql in rollups.COMPACT:
                                con.execute(sql)
                    finally:
                        con.unregister("batch")
                if links:
                    con.register("links", _ndjson_table(links, LINK_SCHEMA))
                    try:
                        con.execute(_INSERT_LINKS)
                        for _ in range(8):
                            row = con.execute(_COMPRESS_LINKS).fetchone()
                            if not row or not row[0]:
                                break
                    finally:
                        con.unregister("links")
                if profiles:
                    apply_profile_updates(con, profiles)
                con.execute("UPDATE loader_state SET applied_seq = ? WHERE id = 1", [upto_seq])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            return inserted

    def forget(self, scope: Scope, user_id: str) -> ForgetResult:
        person = """
            project_id = $1 AND env = $2 AND (
                user_id = $3 OR anonymous_id = $3 OR anonymous_id IN (
                    SELECT anonymous_id FROM identities
                    WHERE project_id = $1 AND env = $2 AND user_id = $3))
        """
        params = [scope.project_id, scope.env, user_id]
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            try:
                row = con.execute(
                    f"""
                    DELETE FROM sessions WHERE project_id = $1 AND env = $2 AND (
                        session_id IN (SELECT session_id FROM events WHERE {person})
                        OR user_id = $3 OR anonymous_id = $3 OR anonymous_id IN (
                            SELECT anonymous_id FROM identities
                            WHERE project_id = $1 AND env = $2 AND user_id = $3))
                    """,
                    params,
                ).fetchone()
                sessions = int(row[0]) if row else 0
                con.execute(
                    f"""
                    DELETE FROM profiles WHERE project_id = $1 AND env = $2 AND (
                        (kind = 'person' AND subject_id = $3)
                        OR (kind = 'visitor' AND subject_id IN (
                            SELECT anonymous_id FROM events WHERE {person} AND anonymous_id IS NOT NULL
                            UNION SELECT anonymous_id FROM identities
                            WHERE project_id = $1 AND env = $2 AND user_id = $3)))
                    """,
                    params,
                )
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE touched_days AS SELECT DISTINCT project_id, env,"
                    f" CAST(ts AS DATE) FROM events WHERE {person}",
                    params,
                )
                row = con.execute(f"DELETE FROM events WHERE {person}", params).fetchone()
                events = int(row[0]) if row else 0
                for sql in rollups.REBUILD_DAYS:
                    con.execute(sql)
                con.execute("DROP TABLE touched_days")
                row = con.execute(
                    "DELETE FROM identities WHERE project_id = $1 AND env = $2 AND user_id = $3",
                    params,
                ).fetchone()
                links = int(row[0]) if row else 0
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            return ForgetResult(events=events, identities=links, sessions=sessions)

    def purge(self) -> None:
        """Rewrite the database file with only live rows.

        DuckDB leaves deleted values in freed blocks; copying into a fresh file is the only way
        to make a forget leave no byte of the person behind.
        """
        with self._write_lock, self._gate.exclusive():
            fresh = self.path.with_name(self.path.name + ".purge")
            fresh.unlink(missing_ok=True)
            row = self._con.execute("SELECT current_database()").fetchone()
            assert row is not None
            self._con.execute(f"ATTACH '{fresh}' AS purged")
            try:
                self._con.execute(f'COPY FROM DATABASE "{row[0]}" TO purged')
            finally:
                self._con.execute("DETACH purged")
            self._con.close()
            os.replace(fresh, self.path)
            Path(str(self.path) + ".wal").unlink(missing_ok=True)
            self._con = _connect(self.path, self.threads, self.memory)
            self._generation += 1

    def reclassify(
        self,
        since: datetime | None,
        classify: Callable[[str, str | None, str | None], dict[str, Any]],
        inherited_fields: tuple[str, ...],
        rows_per_transaction: int = 500_000,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        with self._write_lock:
            con = self._con
            start = _naive(since) if since is not None else datetime(1970, 1, 1)
            inputs = con.execute(
                "SELECT DISTINCT project_id, url, referrer FROM events WHERE ts >= ?", [start]
            ).fetchall()
            if not inputs:
                return 0
            results = [
                {"project_id": p, "url": u, "referrer": r, **classify(p, u, r)}
                for p, u, r in inputs
            ]
            mapping = pa.Table.from_pylist(results)
            columns = [
                c for c in mapping.column_names if c not in ("project_id", "url", "referrer")
            ]
            if "source_rule_id" not in columns:
                raise ValueError("classify must return source_rule_id")
            # Which events change is one read; writing them goes in slices of
            # `rows_per_transaction`, oldest first, each with the sessions and rollup days it
            # touches, so memory stays bounded and every commit leaves the three consistent.
            # Interrupted, a run leaves the older slices done; running it again finishes.
            con.register("mapping", mapping)
            try:
                con.execute(changed_sql(columns, inherited_fields), {"start": start})
            finally:
                con.unregister("mapping")
            try:
                row = con.execute("SELECT count(*) FROM changed").fetchone()
                total = int(row[0]) if row else 0
                if not total:
                    return 0
                flags = con.execute(differing_sql(columns)).fetchone()
                written = [c for c, differs in zip(columns, flags or (), strict=True) if differs]
                bounds = [
                    r[0]
                    for r in con.execute(SLICE_BOUNDS, {"rows": rows_per_transaction}).fetchall()
                ]
                slices = list(zip(bounds, [*bounds[1:], datetime.max], strict=True))
                for done, (lo, hi) in enumerate(slices, 1):
                    self._reclassify_slice(written, lo, hi)
                    if progress is not None:
                        progress(done, len(slices))
                return total
            finally:
                con.execute("DROP TABLE IF EXISTS changed")
                con.execute("DROP TABLE IF EXISTS touched_sessions")
                con.execute("DROP TABLE IF EXISTS touched_days")

    def _reclassify_slice(self, columns: list[str], lo: datetime, hi: datetime) -> None:
        con = self._con
        con.execute("BEGIN")
        try:
            con.execute(update_sql(columns), {"lo": lo, "hi": hi})
            for sql in TOUCHED:
                con.execute(sql, {"lo": lo, "hi": hi})
            span = con.execute(SESSION_SPAN).fetchone()
            first, last = (span if span and span[0] is not None else (datetime.min, datetime.max))
            # Sessions and rollups carry attribution too: rebuild what this slice changed.
            con.execute(
                REBUILD_SESSIONS.format(
                    where="ts >= $first AND ts <= $last AND (project_id, env, session_id)"
                    " IN (SELECT * FROM touched_sessions)"
                ),
                {"first": first, "last": last},
            )
            day_lo = datetime.combine(lo.date(), time.min)
            day_hi = (
                datetime.max
                if hi == datetime.max
                else datetime.combine(hi.date(), time.min) + timedelta(days=1)
            )
            for sql in rollups.REBUILD_DAYS_BETWEEN:
                con.execute(sql, {"day_lo": day_lo, "day_hi": day_hi})
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    def checkpoint(self) -> None:
        with self._write_lock:
            self._con.execute("CHECKPOINT")

    # -- reads (any thread) --------------------------------------------------------------
    def _reader(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the current database file."""
        if getattr(self._local, "generation", None) != self._generation:
            self._local.cursor = self._con.cursor()
            self._local.generation = self._generation
        cur: duckdb.DuckDBPyConnection = self._local.cursor
        return cur

    def read(self, sql: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read query; returns (column names, rows)."""
        with self._gate.shared():
            try:
                result = self._reader().execute(sql, params)
                names = [d[0] for d in result.description]
                return names, result.fetchall()
            except duckdb.OutOfMemoryException as exc:
                # Not a bug: this read (with any running beside it) needs more than the
                # configured memory and could not spill. Other reads finishing may free enough;
                # the operator sees it in the log, to raise FOOTFALL_STORE_MEMORY if it repeats.
                log.warning("read out of memory: %s", str(exc).splitlines()[0])
                raise StoreUnavailable(
                    "query_out_of_memory",
                    "this read needs more memory than the store may use (FOOTFALL_STORE_MEMORY):"
                    " retry shortly, narrow from/to, or raise the limit",
                    retry_after=5.0,
                ) from None

    def query_events(self, query: EventQuery) -> list[dict[str, Any]]:
        where = ["project_id = $project", "env = $env", "ts >= $start", "ts < $end"]
        params: dict[str, Any] = {
            "project": query.scope.project_id,
            "env": query.scope.env,
            "start": _naive(query.start),
            "end": _naive(query.end),
            "limit": query.limit,
        }
        for column, value in (
            ("name", query.event),
            ("source", query.source),
            ("medium", query.medium),
            ("anonymous_id", query.anonymous_id),
            ("country", query.country),
        ):
            if value is not None:
                where.append(f"{column} = ${column}")
                params[column] = value
        if query.user_id is not None:
            where.append(
                "(user_id = $user_id OR anonymous_id = $user_id"
                " OR anonymous_id IN (SELECT anonymous_id FROM identities"
                " WHERE project_id = $project AND env = $env AND user_id = $user_id))"
            )
            params["user_id"] = query.user_id
        sql = (
            "SELECT strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp, name AS event_name, "
            + ", ".join(QUERY_COLUMNS[1:])
            + " FROM events WHERE "
            + " AND ".join(where)
            + " ORDER BY ts DESC, uid DESC LIMIT $limit"
        )
        names, rows = self.read(sql, params)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def session_tails(self, since: datetime) -> list[SessionTail]:
        _names, rows = self.read(
            """
            SELECT project_id, env, anonymous_id, session_id, min(ts), max(ts)
            FROM events
            WHERE anonymous_id IS NOT NULL AND session_id IS NOT NULL
              AND starts_with(session_id, anonymous_id || '-')
              AND anonymous_id IN (SELECT anonymous_id FROM events WHERE ts >= $since)
            GROUP BY project_id, env, anonymous_id, session_id
            QUALIFY row_number() OVER (
                PARTITION BY project_id, env, anonymous_id ORDER BY max(ts) DESC) = 1
            """,
            {"since": _naive(since)},
        )
        return [SessionTail(*row) for row in rows]

    def session_attributions(
        self, since: datetime, fields: tuple[str, ...]
    ) -> list[tuple[tuple[str, str, str], tuple[object, ...]]]:
        # One struct: every field from the first signal event, even where it is NULL (a
        # per-field arg_min skips NULLs and would take, say, a later event's campaign).
        first = ", ".join(f"{f} := {f}" for f in fields)
        _names, rows = self.read(
            f"""
            SELECT project_id, env, session_id, arg_min(struct_pack({first}), ts)
            FROM events
            WHERE session_id IS NOT NULL
              AND {has_signal()} AND source_rule_id <> 'session_inherited'
              AND (project_id, env, session_id) IN (
                  SELECT project_id, env, session_id FROM events WHERE ts >= $since)
            GROUP BY project_id, env, session_id
            """,
            {"since": _naive(since)},
        )
        return [((r[0], r[1], r[2]), tuple(r[3].values())) for r in rows]

    def profile(self, scope: Scope, kind: str, subject_id: str) -> dict[str, Any] | None:
        return read_profile(self.read, scope.project_id, scope.env, kind, subject_id)

    def stats(self, query: StatsQuery) -> list[dict[str, Any]]:
        return reads.stats(self.read, query)

    def sources(self, query: SourcesQuery) -> list[dict[str, Any]]:
        return reads.sources(self.read, query)

    def sessions(self, query: SessionsQuery) -> list[dict[str, Any]]:
        return reads.sessions(self.read, query)

    def session_summary(self, query: SessionSummaryQuery) -> list[dict[str, Any]]:
        return reads.session_summary(self.read, query)

    def funnel(self, query: FunnelQuery) -> dict[str, Any]:
        return funnels.funnel(self.read, query)

    def attribution(self, query: AttributionQuery) -> dict[str, Any]:
        return credit.attribution(self.read, query)

    def page_events(self, query: PageQuery) -> tuple[list[dict[str, Any]], int]:
        return reads.page_events(self.read, query)

    def distinct_values(self, scope: Scope, names: tuple[str, ...], prop: str) -> set[str]:
        return reads.distinct_values(self.read, scope.project_id, scope.env, names, prop)

    def close(self) -> None:
        with self._write_lock:
            self._con.close()


def _connect(path: Path, threads: int, memory: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        str(path),
        config={
            "threads": threads,
            # Bounded memory: big reads spill to the data directory instead of growing the
            # server without limit.
            "memory_limit": memory,
            "temp_directory": str(path.parent / "spill"),
            # Our own WAL is the durable copy, so DuckDB's may grow longer before it folds into
            # the file: each checkpoint rewrites the session and rollup row groups it touches,
            # and checkpointing 8x less often stores ~25% more rows/s (bench/store_insert.py).
            "checkpoint_threshold": "128MB",
        },
    )


class _Gate:
    """Many readers or one exclusive holder."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._readers = 0
        self._exclusive = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cv:
            while self._exclusive:
                self._cv.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cv:
                self._readers -= 1
                self._cv.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cv:
            while self._exclusive or self._readers:
                self._cv.wait()
            self._exclusive = True
        try:
            yield
        finally:
            with self._cv:
                self._exclusive = False
                self._cv.notify_all()


def _naive(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None)
