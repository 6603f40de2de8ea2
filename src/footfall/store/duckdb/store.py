"""The embedded store: one DuckDB file in the data directory, fed Arrow batches by one thread."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from time import monotonic
from typing import Any

import duckdb
import pyarrow as pa

from footfall.errors import StoreUnavailable
from footfall.read.queries import (
    AttributionQuery,
    ConversionsQuery,
    EventLogQuery,
    FunnelPeopleQuery,
    FunnelQuery,
    PageQuery,
    SessionsQuery,
    SessionSummaryQuery,
    SourcesQuery,
    StatsQuery,
)
from footfall.store.base import (
    EXPORT_COLUMNS,
    EXPORT_ORDER,
    EventQuery,
    ExportQuery,
    ForgetResult,
    Scope,
    SessionTail,
)
from footfall.store.batch import EVENT_SCHEMA, LINK_SCHEMA, ndjson_table
from footfall.store.conversion_list import conversion_row
from footfall.store.duckdb import (
    credit,
    dedupe,
    event_times,
    event_times_runs,
    export,
    funnels,
    journeys,
    keyed_events,
    reads,
    rollups,
    session_order,
    session_people,
    touch_spans,
    visitors,
)
from footfall.store.duckdb.conversions import conversions_behind, every_conversion_sql
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
from footfall.store.duckdb.sessions import (
    FLAG_SHARED_STARTS,
    MERGE_SESSIONS,
    REBUILD_SESSIONS,
    SHARED_STARTS_FOUND,
    backfill_dims,
    backfill_humans,
    backfill_keys,
    backfill_shared_starts,
)
from footfall.store.migrations import apply_all

__all__ = ["DuckDBStore"]

log = logging.getLogger("footfall.store")

# Arrow's default pool (mimalloc) keeps freed batch memory for reuse, which grows the server's
# RSS under load; the system allocator hands it back.
pa.set_memory_pool(pa.system_memory_pool())

_COMPACT_EVERY = 200  # store transactions between rollup compactions
_STR = pa.string()

_DEFAULTS = {"properties": "'{}'", "dialect": "'millimetric'", "is_bot": "false"}
_EVENT_SELECT = ", ".join(
    f"coalesce(b.{f.name}, {_DEFAULTS[f.name]}) AS {f.name}"
    if f.name in _DEFAULTS
    else f"b.{f.name}"
    for f in EVENT_SCHEMA
)
_EVENT_COLUMNS = ", ".join(f.name for f in EVENT_SCHEMA)

# The batch's rows, once dedupe.without_stored has dropped its repeated and stored event ids
# (rows without an id are unique by their server-made uid: all of them are new).
_STAGE_ROWS = f"SELECT {_EVENT_SELECT} FROM batch b"
_STAGE_IMPORTED = f"SELECT {_EVENT_SELECT} FROM imported b"
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

def _backfill_13(con: duckdb.DuckDBPyConnection) -> None:
    visitors.backfill_pages(con)
    backfill_humans(con)


def _backfill_17(con: duckdb.DuckDBPyConnection) -> None:
    event_times_runs.backfill(con, tables=("event_times",))  # keyed_events comes at 18


def _backfill_19(con: duckdb.DuckDBPyConnection) -> None:
    backfill_keys(con)
    keyed_events.backfill(con)


# A forget rebuilds the loader's tables a span of whole hours per transaction, each of at most
# this many events unless one hour holds more (`DuckDBStore._spans`): a day of 10M events
# (333k) resolved in temp tables took ~50 MB, with what the statements hold more than the
# store's 96 MB.
FORGET_SPAN_EVENTS = 100_000

# How often, at most, the loader numbers the sessions it wrote (`_order_sessions`): at 2M
# sessions a step takes ~3 ms with nothing to number, ~40 ms for 1,000 people.
ORDER_EVERY = 2.0

# The key of the person forget is given ($3; $1, $2: project, env). The rows of
# `visitors.TABLES` and `event_times` with it as their person are of events forget deletes
# (theirs, their linked devices'). Not the rows keyed by a linked device's id: an id may be a
# device of theirs and, in other events, another person's user id.
_THEIR_KEY = "(SELECT key FROM visitor_keys WHERE project_id = $1 AND env = $2 AND id = $3)"

# Migrations whose new tables are filled from the stored rows by code after their SQL, in
# transactions of a size the store's memory limit allows, before the version is recorded (the
# SQL and the backfill start over if interrupted).
_BACKFILLS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    6: visitors.backfill_visits,
    13: _backfill_13,
    14: event_times.backfill,
    16: session_people.backfill,
    17: _backfill_17,
    # Migration 18's table is filled once 19 has given it its session keys' column.
    19: _backfill_19,
    20: backfill_dims,
    21: backfill_shared_starts,
    22: event_times_runs.backfill_keyed,
}

_EXPORT_TABLES = {"events": "events", "links": "identities", "profiles": "profiles"}

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


class DuckDBStore:
    def __init__(self, path: Path, threads: int = 2, memory: str = "1GB") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Fewer threads leave more CPU to the event loop (faster ingestion); more make reads
        # faster. Measured on 2 cores: see docs/performance.md.
        self.threads = threads
        self.memory = memory
        self._con = _connect(path, threads, memory)
        self._memory_bytes = _limit_bytes(self._con)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._gate = _Gate()  # readers share, purge swaps the file exclusively
        self._appends = 0
        # When the loader next looks for a closed UTC day of event_times to rewrite (#19).
        self._close_after = datetime.min.replace(tzinfo=UTC)
        # When it next numbers the sessions it wrote since (`_order_sessions`).
        self._order_after = 0.0
        self._generation = 0
        # Through which WAL position DuckDB's main file holds the rows: nothing is known to
        # be until a checkpoint is seen (`checkpointed_seq`).
        self._checkpointed = 0
        self._log = path.with_name(path.name + ".wal")  # DuckDB's own log, beside its file

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
                if version in _BACKFILLS:
                    con.execute("COMMIT")
                    _BACKFILLS[version](con)
                    con.execute("BEGIN")
                con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, name])
                con.execute("COMMIT")
            except Exception:
                with contextlib.suppress(duckdb.Error):  # a backfill may have ended it
                    con.execute("ROLLBACK")
                raise

        apply_all("footfall.store.duckdb", done, apply)
        # Every session, at migration 024; later, those the loader wrote and had not
        # numbered yet when the server stopped.
        self._number_sessions()
        try:
            self._finish_forgets()  # one cut short
        except duckdb.Error:
            # The store still opens: those days' counts hold the person until a forget of
            # their scope (asked again) finishes them.
            log.exception("could not finish the days of a forget cut short; asking again finishes them")
        self._note_checkpoint(self.applied_seq())  # a clean shutdown checkpointed it all

    def schema_version(self) -> int:
        row = self._con.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # -- writes (loader thread) ----------------------------------------------------------
    def applied_seq(self) -> int:
        row = self._con.execute("SELECT applied_seq FROM loader_state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def checkpointed_seq(self) -> int:
        """DuckDB deletes its log when a checkpoint folds it into the main file: with no log
        left after a commit, every row through that commit's position is in the file. DuckDB
        has lost committed rows when a checkpoint failed on a full disk (duckdb/duckdb#25432,
        spiceai/spiceai#13985); Footfall's WAL keeps them until a checkpoint is seen."""
        return self._checkpointed

    def _note_checkpoint(self, seq: int) -> None:
        if not self._log.exists() or self._log.stat().st_size == 0:
            self._checkpointed = seq

    def append(
        self,
        events: bytes,
        links: bytes,
        upto_seq: int,
        profiles: list[bytes] | None = None,
        *,
        imported: bytes | pa.Table = b"",
    ) -> int:
        with self._write_lock:
            con = self._con
            inserted = 0
            con.execute("BEGIN")
            try:
                if events or len(imported):
                    inserted = self._insert_events(con, events, imported)
                if links:
                    con.register("links", ndjson_table(links, LINK_SCHEMA))
                    try:
                        con.execute(_INSERT_LINKS)
                        for _ in range(8):
                            row = con.execute(_COMPRESS_LINKS).fetchone()
                            if not row or not row[0]:
                                break
                        visitors.relink(con)  # the visitor-hours read model (#17)
                    finally:
                        con.unregister("links")
                if profiles:
                    apply_profile_updates(con, profiles)
                con.execute("UPDATE loader_state SET applied_seq = ? WHERE id = 1", [upto_seq])
                con.execute("COMMIT")
            except Exception:
                _rollback(con)
                raise
            self._note_checkpoint(upto_seq)
            self._close_days()
            self._order_sessions()
            return inserted

    def _close_days(self) -> None:
        """Rewrite a closed UTC day of event_times and keyed_events in name order (and the
        week it ends), at most one per batch, after the batch's commit
        (store/duckdb/event_times_runs.py)."""
        now = datetime.now(UTC)
        if now < self._close_after:
            return
        try:
            self._close_after = event_times_runs.close_day(self._con, now)
        except duckdb.Error as exc:  # the batch is committed; only the order waits
            log.warning("event_times/keyed_events: closing a day failed, retrying in an hour: %s", exc)
            self._close_after = now + timedelta(hours=1)

    def _step_people(self) -> int:
        """How many people one numbering step takes: `STEP_PEOPLE` in 96 MB, fewer in less
        memory (their sessions' window is held at once)."""
        if self._memory_bytes is None:
            return session_order.STEP_PEOPLE
        return max(100, min(session_order.STEP_PEOPLE, self._memory_bytes // 4800))

    def _number_sessions(self) -> None:
        """Number every session without a place (`session_order.backfill`), then find the spans
        of every conversion without one (touch_spans.py). Paths and the models are exact
        without: a store too small for it starts and loads all the same, and the loader
        numbers them later."""
        try:
            session_order.backfill(self._con, self._step_people())
            session_order.backfill(self._con, self._step_people(), touch_spans.step)
        except duckdb.Error as exc:
            log.warning("sessions: numbering failed, the loader numbers them later: %s", exc)

    def _order_sessions(self) -> None:
        """Number the sessions written since the last time (`session_order.step`), at most
        every `ORDER_EVERY` seconds, after the batch's commit, in a transaction of its own:
        until then, paths read those people's conversions the exact slow way. With more
        people left than a step takes, the next batch takes the next step."""
        now = monotonic()
        if now < self._order_after:
            return
        people = self._step_people()
        try:
            found = session_order.committed_step(self._con, people)
            # and the spans of the conversions written or moved since (touch_spans.py)
            found = max(found, session_order.committed_step(self._con, people, touch_spans.step))
        except duckdb.Error as exc:  # the batch is committed; only the numbers wait
            log.warning("sessions: numbering failed, retrying in a minute: %s", exc)
            self._order_after = now + 60
            return
        self._order_after = now if found >= people else now + ORDER_EVERY

    def _insert_events(
        self, con: duckdb.DuckDBPyConnection, events: bytes, imported: bytes | pa.Table
    ) -> int:
        """One batch's steps, in order: stage the new rows (deduplicated), insert them, remember
        their ids, fold them into sessions and into the daily rollup. Each later step reads
        `staged`, so a new per-batch aggregate slots in beside the rollup's."""
        try:
            self._stage(con, events, imported)
            row = con.execute(
                f"INSERT INTO events ({_EVENT_COLUMNS}) SELECT * FROM staged"
            ).fetchone()
            inserted = int(row[0]) if row else 0
            con.execute(dedupe.REMEMBER_KEYS)
            for sql in MERGE_SESSIONS:
                con.execute(sql)
            con.execute(rollups.APPEND)
            # The visitor-hours read model (#17), and the folded sessions with their person
            # keys (#19), written once the batch's ids and theirs are keyed.
            visitors.fold_events(con, _keyed_folds, session_people.FOLDED_IDS)
            con.execute("DROP TABLE session_fold")
            con.execute("DROP TABLE staged")
            self._appends += 1
            if self._appends % _COMPACT_EVERY == 0:
                for sql in rollups.COMPACT:
                    con.execute(sql)
        finally:
            # After a failed step the transaction is aborted and these fail too: the step's
            # error is the one to see (the caller rolls back; a later register replaces them).
            with contextlib.suppress(duckdb.Error):
                if events:
                    con.unregister("batch")
                if len(imported):
                    con.unregister("imported")
        return inserted

    def _stage(self, con: duckdb.DuckDBPyConnection, events: bytes, imported: bytes | pa.Table) -> None:
        """`staged`: a view of the batch's rows not stored yet (first copy of each event id,
        none stored before; imported rows also by uid)."""
        staged: list[str] = []
        if events:
            batch = ndjson_table(events, EVENT_SCHEMA)
            if batch.column("event_id").null_count < batch.num_rows:
                dedupe.without_stored(con, batch, "batch")
            else:
                con.register("batch", batch)
            staged.append(_STAGE_ROWS)
        if len(imported):
            rows = imported if isinstance(imported, pa.Table) else ndjson_table(imported, EVENT_SCHEMA)
            dedupe.without_stored(con, rows, "imported", by_uid=True)
            staged.append(_STAGE_IMPORTED)
        con.execute("CREATE OR REPLACE TEMP TABLE staged AS " + " UNION ALL ".join(staged))

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
                gone = con.execute(
                    f"""
                    DELETE FROM sessions WHERE project_id = $1 AND env = $2 AND (
                        session_id IN (SELECT session_id FROM events WHERE {person})
                        OR user_id = $3 OR anonymous_id = $3 OR anonymous_id IN (
                            SELECT anonymous_id FROM identities
                            WHERE project_id = $1 AND env = $2 AND user_id = $3))
                    RETURNING session_key, person_key
                    """,
                    params,
                ).fetchall()
                sessions = len(gone)
                # The people whose sessions went (another's, in a shared session) are numbered
                # again, so their places have no gap (touch_spans.py).
                con.execute(
                    "UPDATE sessions SET seq = NULL WHERE project_id = $1 AND env = $2"
                    " AND list_contains($3, person_key)",
                    [*params[:2], list({k for _s, k in gone if k is not None})],
                )
                # Another person's events in a session deleted here lose its key with its row,
                # as a rebuilt row would (keys are never given twice, so none could name
                # another session; but attribution would look for it as a lost own session).
                con.execute(
                    "UPDATE keyed_events SET session_key = NULL WHERE project_id = $1 AND env = $2"
                    " AND list_contains($3, session_key)",
                    [*params[:2], [k for k, _p in gone]],
                )
                # Values only the deleted sessions had (a campaign named for the person) go too.
                con.execute(
                    "DELETE FROM session_dims WHERE project_id = $1 AND env = $2 AND dims_key NOT IN"
                    " (SELECT dims_key FROM sessions"
                    "  WHERE project_id = $1 AND env = $2 AND dims_key IS NOT NULL)",
                    params[:2],
                )
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
                    "INSERT INTO forget_days SELECT DISTINCT project_id, env, CAST(ts AS DATE)"
                    f" FROM events WHERE {person}",
                    params,
                )
                con.execute(
                    f"DELETE FROM event_keys WHERE k IN (SELECT {dedupe.KEY} FROM events"
                    f" WHERE {person} AND event_id IS NOT NULL)",
                    params,
                )
                # Their rows go from the tables the loader keeps too, so nothing names them once
                # this commits; their days are rebuilt after it (`_finish_forgets`) for the
                # counts their events shared with other people's. `keyed_events` holds a row
                # per event and nobody else's person changes: deleting theirs is its rebuild.
                con.execute(
                    "DELETE FROM keyed_events WHERE project_id = $1 AND env = $2"
                    f" AND uid IN (SELECT uid FROM events WHERE {person})",
                    params,
                )
                for table in (*(t.name for t in visitors.TABLES), "event_times"):
                    con.execute(
                        f"DELETE FROM {table} WHERE project_id = $1 AND env = $2"
                        f" AND person_key IN {_THEIR_KEY}",
                        params,
                    )
                row = con.execute(f"DELETE FROM events WHERE {person}", params).fetchone()
                events = int(row[0]) if row else 0
                row = con.execute(
                    "DELETE FROM identities WHERE project_id = $1 AND env = $2 AND user_id = $3",
                    params,
                ).fetchone()
                links = int(row[0]) if row else 0
                con.execute(visitors.FORGET_KEYS, params[:2])  # no row names theirs now
                con.execute("COMMIT")
            except Exception:
                _rollback(con)
                raise
            self._finish_forgets(scope)
            return ForgetResult(events=events, identities=links, sessions=sessions)

    def _finish_forgets(self, only: Scope | None = None) -> None:
        """Rebuild the loader's tables of people per hour, funnels' times and rollups for the
        days in `forget_days`, a span of hours of about `FORGET_SPAN_EVENTS` events per
        transaction (`_spans`), then drop the keys no stored row names any more
        (`visitors.FORGET_KEYS`, with the scope's last span). A forget's days at once, one
        transaction held every rebuilt row, and a day's events resolved in temp tables took
        ~50 MB (10M events: a person seen on 15 days needed more than the store's 96 MB). The
        person's own rows went with their events; until a day is rebuilt, rows their events
        shared with others' (a day's counts, another user's rows on a linked device) still
        count them. Forget answers after the last (those of its scope, `only`: another
        scope's days left by a forget cut short do not hold it up), and a forget cut short is
        finished when the store next opens (`migrate`) or by the next forget of its scope."""
        con = self._con
        mine = [] if only is None else [only.project_id, only.env]
        scopes = con.execute(
            "SELECT DISTINCT project_id, env FROM forget_days"
            f"{' WHERE project_id = $1 AND env = $2' if mine else ''} ORDER BY ALL",
            mine,
        ).fetchall()
        for project, env in scopes:
            scope = Scope(project, env)
            days = con.execute(
                "SELECT DISTINCT day FROM forget_days WHERE project_id = $1 AND env = $2 ORDER BY day",
                [project, env],
            ).fetchall()
            for i, (day,) in enumerate(days, 1):
                spans = self._spans(scope, day)
                for j, span in enumerate(spans, 1):
                    con.execute("BEGIN")
                    try:
                        self._rebuild(scope, day, span, whole_day=j == 1)
                        if j == len(spans):  # a day cut short is rebuilt again whole
                            con.execute(
                                "DELETE FROM forget_days WHERE project_id = $1 AND env = $2 AND day = $3",
                                [project, env, day],
                            )
                            if i == len(days):
                                con.execute(visitors.FORGET_KEYS, [project, env])
                        con.execute("COMMIT")
                    except Exception:
                        _rollback(con)
                        raise

    def _spans(self, scope: Scope, day: date) -> list[tuple[datetime, datetime]]:
        """The UTC `day` cut at whole hours into spans of at most `FORGET_SPAN_EVENTS` of
        `scope`'s events (an hour with more is a span of its own), covering all of it."""
        lo = datetime.combine(day, time.min)
        counts = dict(
            self._con.execute(
                "SELECT hour(ts), count(*) FROM events WHERE project_id = $1 AND env = $2"
                " AND ts >= $3 AND ts < $4 GROUP BY ALL",
                [scope.project_id, scope.env, lo, lo + timedelta(days=1)],
            ).fetchall()
        )
        cuts, held = [0], 0
        for h in range(24):
            n = counts.get(h, 0)
            if n and held and held + n > FORGET_SPAN_EVENTS:
                cuts.append(h)
                held = 0
            held += n
        cuts.append(24)
        return [(lo + timedelta(hours=a), lo + timedelta(hours=b)) for a, b in pairwise(cuts)]

    def _rebuild(
        self, scope: Scope, day: date, span: tuple[datetime, datetime], whole_day: bool
    ) -> None:
        """Rebuild the tables of people per hour and funnels' times for `span` (whole hours of
        the UTC `day`) of `scope`, and with `whole_day` the day's rollup rows, in the caller's
        transaction."""
        con = self._con
        con.execute(
            "CREATE OR REPLACE TEMP TABLE touched_days AS SELECT $1 AS project_id, $2 AS env, $3 AS day",
            [scope.project_id, scope.env, day],
        )
        lo = datetime.combine(day, time.min)
        steps: list[tuple[str, dict[str, datetime]]] = []
        if whole_day:
            whole = {"day_lo": lo, "day_hi": lo + timedelta(days=1)}
            steps += [(sql, whole) for sql in rollups.REBUILD_DAYS_BETWEEN]
        hours = {"day_lo": span[0], "day_hi": span[1]}
        steps += [
            (sql, hours)
            for sql in (*visitors.REBUILD_DAYS_BETWEEN, *event_times.REBUILD_DAYS)
        ]
        for sql, params in steps:
            con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql} or None)
        con.execute("DROP TABLE touched_days")

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
            self._log.unlink(missing_ok=True)
            self._con = _connect(self.path, self.threads, self.memory)
            self._generation += 1
            self._note_checkpoint(self.applied_seq())  # the rewritten file holds every row

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
                self._number_sessions()  # the sessions it rebuilt lost their places
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
            where = (
                "ts >= $first AND ts <= $last AND (project_id, env, session_id)"
                " IN (SELECT * FROM touched_sessions)"
            )
            for i, sql in enumerate(REBUILD_SESSIONS):
                con.execute(sql.format(where=where), {"first": first, "last": last} if i == 0 else None)
            session_people.fill(con)
            day_lo = datetime.combine(lo.date(), time.min)
            day_hi = (
                datetime.max
                if hi == datetime.max
                else datetime.combine(hi.date(), time.min) + timedelta(days=1)
            )
            for sql in rollups.REBUILD_DAYS_BETWEEN:
                con.execute(sql, {"day_lo": day_lo, "day_hi": day_hi})
            for sql in visitors.REBUILD_DAYS_BETWEEN:
                con.execute(sql, {"day_lo": day_lo, "day_hi": day_hi} if "$day" in sql else None)
            con.execute("COMMIT")
        except Exception:
            _rollback(con)
            raise

    def checkpoint(self) -> None:
        with self._write_lock:
            self._con.execute("CHECKPOINT")
            self._note_checkpoint(self.applied_seq())

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
            return _fetched(self._reader(), sql, params)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[reads.Runner]:
        """A `read` whose queries all see the store as it was at the first: one transaction
        on this thread's cursor. A read in parts needs it, or a load or an identity merge
        landing between its parts could count a conversion twice or not at all."""
        with self._gate.shared():
            cur = self._reader()
            cur.begin()

            def run(sql: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
                return _fetched(cur, sql, params)

            try:
                yield run
            finally:
                cur.rollback()  # it wrote nothing

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

    def export(self, query: ExportQuery) -> Iterator[pa.RecordBatch]:
        table = _EXPORT_TABLES[query.table]
        time_column = EXPORT_ORDER[query.table][0]
        where = ["project_id = $project", "env = $env"]
        params: dict[str, Any] = {"project": query.scope.project_id, "env": query.scope.env}
        if query.start is not None:
            where.append(f"{time_column} >= $start")
            params["start"] = _naive(query.start)
        if query.end is not None:
            where.append(f"{time_column} < $end")
            params["end"] = _naive(query.end)
        with self._gate.shared():
            # Its own cursor (the thread's shared one would be reused, and this result dropped,
            # by the next read on the same worker thread) in one transaction: every slice
            # reads the same snapshot while the loader commits beside it.
            cursor = self._con.cursor()
            cache = export.BlockCache(self._con, self.memory)
            try:
                cursor.execute("BEGIN TRANSACTION")
                days: list[tuple[datetime, int]] = []
                if query.table == "events":  # the others are small: counted in one chunk
                    days = cursor.execute(
                        "SELECT CAST(day AS TIMESTAMP), sum(events) FROM daily_rollup"
                        " WHERE project_id = $project AND env = $env GROUP BY day ORDER BY day",
                        {"project": params["project"], "env": params["env"]},
                    ).fetchall()
                ranges = export.chunks(days, params.get("start"), params.get("end"), export.CHUNK_ROWS)
                yield from export.read_sorted(
                    cursor, cache, table, ", ".join(EXPORT_COLUMNS[query.table]), where, params,
                    EXPORT_ORDER[query.table], ranges, query.batch_rows,
                )  # fmt: skip
                cursor.execute("COMMIT")
            finally:
                cache.close()
                cursor.close()

    def backup(self, path: Path) -> int:
        with self._gate.shared():
            cursor = self._con.cursor()
            try:
                row = cursor.execute("SELECT current_database()").fetchone()
                assert row is not None
                cursor.execute("ATTACH '" + str(path).replace("'", "''") + "' AS snapshot")
                try:
                    # One transaction: the copy and its WAL position are one snapshot, while
                    # the loader keeps committing beside it.
                    cursor.execute("BEGIN TRANSACTION")
                    seq = cursor.execute("SELECT applied_seq FROM loader_state WHERE id = 1").fetchone()
                    cursor.execute(f'COPY FROM DATABASE "{row[0]}" TO snapshot')
                    cursor.execute("COMMIT")
                finally:
                    cursor.execute("DETACH snapshot")
            finally:
                cursor.close()
        return int(seq[0]) if seq else 0

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

    def funnel_people(self, query: FunnelPeopleQuery) -> dict[str, Any]:
        return funnels.people(self.read, query)

    def attribution(self, query: AttributionQuery) -> dict[str, Any]:
        with self.snapshot() as run:  # it may read in parts
            return credit.attribution(run, query, self._memory_bytes)

    def attribution_compared(self, query: AttributionQuery) -> dict[str, Any]:
        with self.snapshot() as run:
            return credit.compared(run, query, self._memory_bytes)

    def conversion_paths(self, query: AttributionQuery) -> dict[str, Any]:
        return journeys.paths(self.read, query)

    def time_to_convert(self, query: AttributionQuery) -> dict[str, Any]:
        return journeys.time_to_convert(self.read, query)

    def conversions_behind(self, query: ConversionsQuery) -> dict[str, Any]:
        return conversions_behind(self.read, query)

    def page_events(self, query: PageQuery) -> tuple[list[dict[str, Any]], int]:
        return reads.page_events(self.read, query)

    def event_log(self, query: EventLogQuery) -> list[dict[str, Any]]:
        return reads.event_log(self.read, query)

    def event_log_batches(
        self, query: EventLogQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        params: dict[str, Any] = {}
        sql, where = reads.event_log_sql(query, params, page=False)
        minutes = f"SELECT date_trunc('minute', ts) AS m, count(*) FROM events WHERE {where}"
        yield from self._sliced(sql, params, minutes, "ts", batch_rows)

    def sessions_batches(
        self, query: SessionsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        sql, params, where = reads.sessions_sql(query, page=False)
        minutes = (
            "SELECT date_trunc('minute', s.start_ts) AS m, count(*) FROM sessions s"
            " LEFT JOIN identities i ON i.project_id = s.project_id AND i.env = s.env"
            f" AND i.anonymous_id = s.anonymous_id WHERE {where}"
        )
        yield from self._sliced(sql, params, minutes, "s.start_ts", batch_rows)

    def _sliced(
        self, sql: str, params: dict[str, Any], minutes: str, time_column: str, batch_rows: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Rows of `sql` (newest first, a `{slice}` mark in its WHERE) as `export` reads: one
        transaction on a cursor of its own, time slices of about export.SLICE_ROWS rows
        (`minutes` counts them) sorted one at a time, newest slice first."""
        sliced = sql.replace("{slice}", f" AND {time_column} >= $lo AND {time_column} < $hi")
        with self._gate.shared():
            cursor = self._con.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                counts = cursor.execute(minutes + " GROUP BY m ORDER BY m", params).fetchall()
                for lo, hi in reversed(list(export.slices(counts, export.SLICE_ROWS))):
                    result = cursor.execute(sliced, {**params, "lo": lo, "hi": hi})
                    names = [d[0] for d in result.description]
                    while rows := result.fetchmany(batch_rows):
                        yield [dict(zip(names, row, strict=True)) for row in rows]
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def stats_batches(
        self, query: StatsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        if not (query.group_by or query.interval):
            # One row, which `stats` may answer by a shortcut of its own (the visits KPI).
            if rows := self.stats(query):
                yield rows
            return
        yield from self._one_read(lambda run: reads.stats_sql(run, query, page=False), batch_rows)

    def session_summary_batches(
        self, query: SessionSummaryQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        sql, params = reads.session_summary_sql(query, page=False)
        yield from self._one_read(lambda _run: (sql, params, None), batch_rows)

    def funnel_people_batches(
        self, query: FunnelPeopleQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        sql, params = funnels.every_person_sql(query)
        yield from self._one_read(lambda _run: (sql, params, None), batch_rows)

    def conversions_behind_batches(
        self, query: ConversionsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        for rows in self._one_read(lambda run: (*every_conversion_sql(run, query), None), batch_rows):
            yield [conversion_row(query, r) for r in rows]

    def _one_read(
        self,
        plan: Callable[[reads.Runner], tuple[str, dict[str, Any], str | None]],
        batch_rows: int,
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows of one query, `batch_rows` at a time as DuckDB streams them, on a cursor
        of its own in one transaction (as `export`): `plan` gives (SQL, params, the SQL again
        without bit sets, see `reads.stats_sql`) after any sizing reads of its own, which see
        the same snapshot. Python holds a batch; the ORDER BY over every row is DuckDB's, sorted
        within the store's memory limit (spilling to the data directory) before the first.
        Not in time slices as `_sliced`: these rows are groups, or picked by CTEs over the
        whole range, which every slice would compute again, and they are narrow."""
        with self._gate.shared():
            cursor = self._con.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                sql, params, exact = plan(lambda q, p: _fetched(cursor, q, p))
                try:
                    with _within_memory():
                        result = cursor.execute(sql, params)
                        rows = result.fetchmany(batch_rows)
                except duckdb.OutOfRangeException:
                    if exact is None:  # as `reads.stats`: the exact count, not a failed read
                        raise
                    cursor.execute("ROLLBACK")  # DuckDB takes nothing else after an error
                    cursor.execute("BEGIN TRANSACTION")
                    with _within_memory():
                        result = cursor.execute(exact, params)
                        rows = result.fetchmany(batch_rows)
                names = [d[0] for d in result.description]
                while rows:
                    yield [dict(zip(names, row, strict=True)) for row in rows]
                    with _within_memory():
                        rows = result.fetchmany(batch_rows)
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def distinct_values(self, scope: Scope, names: tuple[str, ...], prop: str) -> set[str]:
        return reads.distinct_values(self.read, scope.project_id, scope.env, names, prop)

    def close(self) -> None:
        with self._write_lock:
            self._con.close()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the failure already ended the transaction: a `COMMIT` that failed
    (a full disk) did, and the error to raise and log is the commit's, not that there was
    no transaction left to roll back."""
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


def _keyed_folds(con: duckdb.DuckDBPyConnection, hours: tuple[datetime, datetime] | None) -> None:
    """The folds that need the batch's ids as keys, run while `visitors.fold_events` has them:
    the folded sessions with their person keys (#19), funnels' `event_times` (#19) and
    attribution's `keyed_events` (#19)."""
    con.execute(session_people.INSERT_FOLDED)
    found = con.execute(SHARED_STARTS_FOUND).fetchone()
    if found and found[0]:
        con.execute(FLAG_SHARED_STARTS)
    event_times.fold(con, hours)
    con.execute(keyed_events.FOLD)


def _fetched(cur: duckdb.DuckDBPyConnection, sql: str, params: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of a read query on `cur`."""
    with _within_memory():
        result = cur.execute(sql, params)
        names = [d[0] for d in result.description]
        return names, result.fetchall()


@contextlib.contextmanager
def _within_memory() -> Iterator[None]:
    """A read that ran out of the store's memory as a `StoreUnavailable` (503, retry)."""
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        # Not a bug: this read (with any running beside it) needs more than the configured
        # memory and could not spill. Other reads finishing may free enough; the operator
        # sees it in the log, to raise FOOTFALL_STORE_MEMORY if it repeats.
        log.warning("read out of memory: %s", str(exc).splitlines()[0])
        raise StoreUnavailable(
            "query_out_of_memory",
            "this read needs more memory than the store may use (FOOTFALL_STORE_MEMORY):"
            " retry shortly, narrow from/to, or raise the limit",
            retry_after=5.0,
        ) from None


_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def _limit_bytes(con: duckdb.DuckDBPyConnection) -> int | None:
    """The connection's memory limit in bytes, from DuckDB's own rendering of it ("91.5 MiB");
    None when it renders none of those."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    number, _, unit = str(row[0] if row else "").partition(" ")
    try:
        return int(float(number) * _UNITS[unit])
    except (ValueError, KeyError):
        return None


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
