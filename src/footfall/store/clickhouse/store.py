"""The ClickHouse event store, reached over HTTP by clickhouse-connect.

Writes come from the one loader thread as Arrow batches; each insert carries an
`insert_deduplication_token` made from its WAL range, so a retried batch is stored once (the
tables keep a dedup window, and the session and rollup views dedupe with them). Reads run on
a client per thread. The SQL of the reads is in `sql/` and `reads.py`; the answers are shaped
by the same code as DuckDB's (`store/answers.py`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from footfall.errors import NotSupported, StoreUnavailable
from footfall.model import ProfileUpdate
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
from footfall.store.clickhouse import conversions, credit, funnels, journeys, reads, reclassify
from footfall.store.clickhouse.reads import ch_time
from footfall.store.clickhouse.sql import statement, statements
from footfall.store.conversion_list import conversion_row
from footfall.store.factory import ClickHouseTarget, StoreConfigError
from footfall.store.migrations import apply_all
from footfall.store.profiles import PROFILE_FIELDS, fold

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["ClickHouseStore", "Connector", "http_connector"]

log = logging.getLogger("footfall.store")

# A client for a database (None: the server's default database, to create ours).
Connector = Callable[[str | None], "Client"]

# Every query: a LEFT JOIN's missing side is NULL (as in SQL), not the type's default.
CLIENT_SETTINGS = {"join_use_nulls": 1}
# Retried inserts are no-ops, also for the session and rollup views fed by `events`.
_DEDUP = {"deduplicate_blocks_in_dependent_materialized_views": 1, "insert_deduplicate": 1}
_DEFAULTS = {"properties": "{}", "dialect": "millimetric", "is_bot": False}
_LINK_CHAIN_ROUNDS = 8
_decode_update = msgspec.json.Decoder(ProfileUpdate).decode
_encode = msgspec.json.Encoder().encode


def http_connector(target: ClickHouseTarget) -> Connector:
    def connect(database: str | None) -> Client:
        import clickhouse_connect

        return clickhouse_connect.get_client(
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            database=database or "",
            secure=target.secure,
            # Sessions would serialise this client's queries; every thread has its own client.
            autogenerate_session_id=False,
            connect_timeout=5,
            send_receive_timeout=300,
            settings=CLIENT_SETTINGS,
        )

    return connect


class ClickHouseStore:
    def __init__(
        self, connect: Connector, database: str, label: str = "clickhouse", writer: str = "node"
    ) -> None:
        self._connect = connect
        self.database = database
        self.label = label
        # Whose WAL this store applies: nodes sharing the database each have their own log and
        # sequence numbers, so positions and dedup tokens are per writer (else node B's batch
        # 1-5 would be dropped as a repeat of node A's 1-5).
        self.writer = writer
        self._local = threading.local()
        self._clients: list[Client] = []
        self._clients_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._applied: int | None = None
        # The first append after start may repeat rows a crash left stored without their WAL
        # position (the replayed range need not match the original inserts): it checks uids.
        self._check_replay = True

    # -- clients -------------------------------------------------------------------------
    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._connect(self.database)
            for key, value in CLIENT_SETTINGS.items():
                client.set_client_setting(key, value)
            with self._clients_lock:
                self._clients.append(client)
            self._local.client = client
        return client

    def _count(self, sql: str, params: dict[str, Any] | None = None) -> int:
        rows = self._client().query(sql, parameters=params or {}).result_rows
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> None:
        try:
            admin = self._connect(None)
        except Exception as exc:
            raise StoreConfigError(f"cannot reach the ClickHouse store at {self.label}: {exc}") from exc
        try:
            admin.command(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
        except Exception as exc:
            raise StoreConfigError(
                f"cannot create database {self.database!r} on {self.label} (create it, or grant"
                f" CREATE DATABASE): {exc}"
            ) from exc
        finally:
            admin.close()
        client = self._client()
        try:
            client.command(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String,"
                " applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version"
            )
            done = {int(r[0]) for r in client.query("SELECT version FROM schema_migrations").result_rows}

            def apply(version: int, name: str, sql: str) -> None:
                for stmt in statements(sql):
                    client.command(stmt)
                client.command(
                    "INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
                    parameters={"v": version, "n": name},
                )

            apply_all("footfall.store.clickhouse", done, apply)
        except StoreConfigError:
            raise
        except Exception as exc:
            raise StoreConfigError(f"cannot create the schema on {self.label}: {exc}") from exc

    def schema_version(self) -> int:
        return self._count("SELECT max(version) FROM schema_migrations")

    # -- writes (loader thread) ----------------------------------------------------------
    def checkpointed_seq(self) -> int:
        """Each insert's parts are ClickHouse's durable files: there is no log of its own."""
        return self.applied_seq() if self._applied is None else self._applied

    def applied_seq(self) -> int:
        self._applied = self._count(
            "SELECT max(applied_seq) FROM loader_state WHERE writer = {w:String}", {"w": self.writer}
        )
        return self._applied

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
            if self._applied is None:
                self.applied_seq()
            # The WAL range this append covers: a retry of the same batch has the same range,
            # so ClickHouse drops the repeated blocks.
            token = f"{self.writer}:{(self._applied or 0) + 1}-{upto_seq}"
            inserted = self._append_events(events, token) if events else 0
            if len(imported):  # a second import of the same rows: their uids are stored already
                inserted += self._append_events(imported, token + ":imported", by_uid=True)
            if links:
                self._append_links(links, upto_seq, token)
            if profiles:
                self._append_profiles(profiles, upto_seq, token)
            self._client().command(
                "INSERT INTO loader_state (writer, applied_seq) VALUES ({w:String}, {seq:UInt64})",
                parameters={"w": self.writer, "seq": upto_seq},
                settings={"insert_deduplication_token": f"seq:{token}"},
            )
            self._applied = upto_seq
            self._check_replay = False
            return inserted

    def _append_events(self, data: bytes | pa.Table, token: str, by_uid: bool = False) -> int:
        table = data if isinstance(data, pa.Table) else ndjson_table(data, EVENT_SCHEMA)
        for name, default in _DEFAULTS.items():
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pc.fill_null(table.column(i), default))
        keep = _first_copies(table)
        if self._check_replay or by_uid:
            stored = self._stored_uids(table)
            if stored:
                uids = table.column("uid").to_pylist()
                keep = [i for i in keep if uids[i] not in stored]
        keep = self._not_stored(table, keep)
        if len(keep) < table.num_rows:
            table = table.take(pa.array(keep, pa.int64()))
        if table.num_rows:
            self._client().insert_arrow(
                "events", table, settings={**_DEDUP, "insert_deduplication_token": f"events:{token}"}
            )
        return int(table.num_rows)

    def _stored_uids(self, table: pa.Table) -> set[str]:
        ts = table.column("ts")
        rows = self._client().query(
            "SELECT uid FROM events WHERE ts >= {lo:DateTime64(6)} AND ts <= {hi:DateTime64(6)}"
            " AND uid IN {uids:Array(String)}",
            parameters={
                "lo": ch_time(pc.min(ts).as_py()), "hi": ch_time(pc.max(ts).as_py()),
                "uids": table.column("uid").to_pylist(),
            },
        ).result_rows
        return {r[0] for r in rows}

    def _not_stored(self, table: pa.Table, keep: list[int]) -> list[int]:
        """Idempotency: drop rows whose (project, env, event_id) is already stored."""
        ids = table.column("event_id").to_pylist()
        wanted = sorted({ids[i] for i in keep if ids[i] is not None})
        if not wanted:
            return keep
        rows = self._client().query(
            "SELECT DISTINCT project_id, env, event_id FROM events"
            " WHERE event_id IN {ids:Array(String)}",
            parameters={"ids": wanted},
        ).result_rows
        if not rows:
            return keep
        stored = {(r[0], r[1], r[2]) for r in rows}
        project, env = table.column("project_id").to_pylist(), table.column("env").to_pylist()
        return [i for i in keep if ids[i] is None or (project[i], env[i], ids[i]) not in stored]

    def _append_links(self, data: bytes, upto_seq: int, token: str) -> None:
        """First link of an anonymous id wins; a link back into its own chain is ignored."""
        client = self._client()
        first: dict[tuple[str, str, str], tuple[datetime, str]] = {}
        for row in ndjson_table(data, LINK_SCHEMA).to_pylist():
            if row["anonymous_id"] == row["user_id"]:
                continue
            key = (row["project_id"], row["env"], row["anonymous_id"])
            seen = first.get(key)
            if seen is None or row["ts"] < seen[0]:
                first[key] = (row["ts"], row["user_id"])
        if not first:
            return
        names = sorted({k[2] for k in first} | {u for _ts, u in first.values()})
        stored = {
            (r[0], r[1], r[2]): r[3]
            for r in client.query(
                "SELECT project_id, env, anonymous_id, user_id FROM identities FINAL"
                " WHERE anonymous_id IN {names:Array(String)}",
                parameters={"names": names},
            ).result_rows
        }
        rows = [
            [p, e, a, user, ts.replace(tzinfo=UTC), upto_seq << 8]
            for (p, e, a), (ts, user) in first.items()
            if (p, e, a) not in stored and stored.get((p, e, user)) != a
        ]
        if not rows:
            return
        columns = ["project_id", "env", "anonymous_id", "user_id", "ts", "version"]
        client.insert_arrow("identities", _arrow(columns, rows),
                            settings={"insert_deduplication_token": f"links:{token}"})
        # Alias chains (a → b, then b → c): every link points straight at its chain's end.
        for round_ in range(1, _LINK_CHAIN_ROUNDS + 1):
            chained = statement("compress_links")
            if not self._count(f"SELECT count() FROM ({chained})", {"version": 0}):
                break
            client.command(
                f"INSERT INTO identities ({', '.join(columns)}) {chained}",
                parameters={"version": (upto_seq << 8) + round_},
                settings={"insert_deduplication_token": f"links:{token}:{round_}"},
            )

    def _append_profiles(self, payloads: list[bytes], upto_seq: int, token: str) -> None:
        """Fold each batch's updates in order onto the stored documents, one row per profile."""
        client = self._client()
        updates = [_decode_update(p) for p in payloads]
        keys = list(dict.fromkeys((u.project_id, u.env, u.kind, u.subject_id) for u in updates))
        docs: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for r in client.query(
            "SELECT project_id, env, kind, subject_id, attributes, context, custom_data,"
            " enrichment, created_at, updated_at FROM profiles FINAL"
            " WHERE subject_id IN {subjects:Array(String)}",
            parameters={"subjects": sorted({k[3] for k in keys})},
        ).result_rows:
            key = (r[0], r[1], r[2], r[3])
            if key in keys:
                docs[key] = {
                    **{f: msgspec.json.decode(v) for f, v in zip(PROFILE_FIELDS, r[4:8], strict=True)},
                    "created_at": r[8], "updated_at": r[9],
                }
        for u in updates:
            key = (u.project_id, u.env, u.kind, u.subject_id)
            docs[key] = fold(docs.get(key, {}), u)
        rows = [
            [*key, *(_encode(docs[key].get(f) or {}).decode() for f in PROFILE_FIELDS),
             docs[key]["created_at"].replace(tzinfo=UTC), docs[key]["updated_at"].replace(tzinfo=UTC),
             upto_seq]
            for key in keys
        ]  # fmt: skip
        columns = ["project_id", "env", "kind", "subject_id", *PROFILE_FIELDS, "created_at",
                   "updated_at", "version"]  # fmt: skip
        client.insert_arrow(
            "profiles", _arrow(columns, rows),
            settings={"insert_deduplication_token": f"profiles:{token}"},
        )

    def forget(self, scope: Scope, user_id: str) -> ForgetResult:
        """Delete the person's events, sessions, profiles and links, and recount their days.

        Each table is rewritten by a synchronous mutation (`mutations_sync = 2`), so the rows
        are gone from every active part when this returns; the keys travel through the
        in-memory `forget_keys` table, so no mutation's text names the person."""
        with self._write_lock:
            client = self._client()
            params: dict[str, Any] = {"project": scope.project_id, "env": scope.env, "user": user_id}
            linked = [r[0] for r in client.query(
                "SELECT anonymous_id FROM identities FINAL WHERE project_id = {project:String}"
                " AND env = {env:String} AND user_id = {user:String}",
                parameters=params,
            ).result_rows]  # fmt: skip
            params["linked"] = linked
            targets = client.query(statement("forget_targets"), parameters=params).result_rows
            event_sessions = sorted({r[1] for r in targets if r[1] is not None})
            sessions = [r[0] for r in client.query(
                statement("forget_sessions"), parameters={**params, "sessions": event_sessions}
            ).result_rows]  # fmt: skip
            keys = (
                [("event", r[0]) for r in targets]
                + [("session", s) for s in sessions]
                + [("visitor", v) for v in sorted({r[2] for r in targets if r[2]} | set(linked))]
                + [("link", a) for a in linked]
                + [("person", user_id)]
                + [("day", d) for d in sorted({r[3] for r in targets})]
            )
            client.command("TRUNCATE TABLE forget_keys")
            try:
                client.insert_arrow("forget_keys", _arrow(["kind", "key"], keys))
                days = (
                    "SELECT {project:String}, {env:String}, key FROM forget_keys WHERE kind = 'day'"
                )
                self._mutate(
                    statement("forget") + "\n" + statement("rebuild_days", days=days),
                    {"project": scope.project_id, "env": scope.env},
                )
            finally:
                client.command("TRUNCATE TABLE forget_keys")
            return ForgetResult(events=len(targets), identities=len(linked), sessions=len(sessions))

    def purge(self) -> None:
        """Nothing to rewrite: a forget's mutations already wrote new parts without the person.
        The replaced parts are deleted by ClickHouse's cleanup (`old_parts_lifetime`, 60 s on
        the tables with personal data); docs/reliability.md says what else may hold them."""

    def _mutate(self, script: str, params: dict[str, Any] | None = None) -> None:
        """Run statements one by one, each mutation waiting until every replica applied it."""
        for stmt in statements(script):
            self._client().command(
                stmt, parameters=params or {},
                settings={"mutations_sync": 2, "allow_nondeterministic_mutations": 1},
            )  # fmt: skip

    def reclassify(
        self,
        since: datetime | None,
        classify: Callable[[str, str | None, str | None], dict[str, Any]],
        inherited_fields: tuple[str, ...],
        rows_per_transaction: int = 500_000,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """As on DuckDB: which events change is one read, into a table on disk ordered by
        time; writing them goes in slices of `rows_per_transaction`, oldest first, each with the
        sessions and rollup days it touches. ClickHouse has no transaction to hold a slice, so
        each slice is a few synchronous mutations whose result is complete once they return: a
        run interrupted between slices leaves the older ones done (events, their sessions and
        days consistent), and running it again finishes."""
        with self._write_lock:
            client = self._client()
            start = {"start": ch_time(since if since is not None else datetime(1970, 1, 1))}
            inputs = client.query(
                "SELECT DISTINCT project_id, url, referrer FROM events"
                " WHERE ts >= {start:DateTime64(6)}", parameters=start,
            ).result_rows  # fmt: skip
            if not inputs:
                return 0
            results = [{"project_id": p, "url": u, "referrer": r, **classify(p, u, r)} for p, u, r in inputs]
            columns = [c for c in results[0] if c not in ("project_id", "url", "referrer")]
            if "source_rule_id" not in columns:
                raise ValueError("classify must return source_rule_id")
            assert all(c.isidentifier() for c in columns)
            self._drop_reclassify_tables()
            try:
                client.command(
                    "CREATE TABLE reclassify_mapping (project_id String, url Nullable(String),"
                    " referrer Nullable(String), "
                    + ", ".join(f"{c} Nullable(String)" for c in columns) + ") ENGINE = Memory"
                )
                client.insert_arrow("reclassify_mapping", pa.Table.from_pylist(
                    [{k: (None if v is None else str(v)) if k in columns else v for k, v in r.items()}
                     for r in results]
                ))  # fmt: skip
                # On disk, not in memory: every event of a big store may change.
                client.command(
                    "CREATE TABLE reclassify_changed ENGINE = MergeTree ORDER BY (ts, uid) AS "
                    + reclassify.changed_sql(columns, inherited_fields), parameters=start,
                )  # fmt: skip
                total = self._count("SELECT count() FROM reclassify_changed")
                if not total:
                    return 0
                flags = client.query(
                    "SELECT " + ", ".join(f"max(differs_{c})" for c in columns)
                    + " FROM reclassify_changed"
                ).result_rows[0]
                written = [c for c, differs in zip(columns, flags, strict=True) if differs]
                bounds = [
                    ch_time(row[0]) for row in client.query(
                        reclassify.SLICE_BOUNDS, parameters={"rows": max(1, rows_per_transaction)}
                    ).result_rows
                ]  # fmt: skip
                slices = list(zip(bounds, [*bounds[1:], None], strict=True))
                for done, (lo, hi) in enumerate(slices, 1):
                    self._reclassify_slice(written, lo, hi)
                    if progress is not None:
                        progress(done, len(slices))
                return total
            finally:
                self._drop_reclassify_tables()

    def _reclassify_slice(self, columns: list[str], lo: str, hi: str | None) -> None:
        """Write the changed events in [lo, hi) (hi None: to the end), then rebuild their
        sessions and rollup days."""
        client = self._client()
        span = {"lo": lo} if hi is None else {"lo": lo, "hi": hi}
        in_slice = "ts >= {lo:DateTime64(6)}" + ("" if hi is None else " AND ts < {hi:DateTime64(6)}")
        client.command("DROP TABLE IF EXISTS reclassify_join")
        client.command(
            f"CREATE TABLE reclassify_join ENGINE = Join(ANY, LEFT, uid) AS"
            f" SELECT uid, {', '.join(columns)} FROM reclassify_changed WHERE {in_slice}",
            parameters=span,
        )
        lookup = f"'{self.database}.reclassify_join'"
        self._mutate(
            "ALTER TABLE events UPDATE "
            + ", ".join(f"{c} = joinGet({lookup}, '{c}', uid)" for c in columns)
            + f" WHERE {in_slice} AND uid IN (SELECT uid FROM reclassify_changed WHERE {in_slice});\n"
            # Sessions and rollups carry attribution too: rebuild what this slice changed.
            "ALTER TABLE sessions DELETE WHERE (project_id, env, session_id) IN ("
            " SELECT project_id, env, assumeNotNull(session_id) FROM reclassify_changed"
            f" WHERE {in_slice} AND session_id IS NOT NULL);\n"
            + statement("session_states", sessions=(
                "SELECT project_id, env, assumeNotNull(session_id) FROM reclassify_changed"
                f" WHERE {in_slice} AND session_id IS NOT NULL"))
            + ";\n"
            + statement("rebuild_days", days=(
                "SELECT DISTINCT project_id, env, toString(toDate(ts)) FROM reclassify_changed"
                f" WHERE {in_slice}"))
        , span)  # fmt: skip

    def _drop_reclassify_tables(self) -> None:
        for table in ("reclassify_join", "reclassify_changed", "reclassify_mapping"):
            self._client().command(f"DROP TABLE IF EXISTS {table}")

    def checkpoint(self) -> None:
        """Nothing to flush: ClickHouse writes each insert's parts itself."""

    # -- reads (any thread) --------------------------------------------------------------
    def read(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read query; returns (column names, rows)."""
        with _reachable():
            result = self._client().query(sql, parameters=params or {})
        return list(result.column_names), [tuple(r) for r in result.result_rows]

    def query_events(self, query: EventQuery) -> list[dict[str, Any]]:
        return reads.query_events(self.read, query)

    def session_tails(self, since: datetime) -> list[SessionTail]:
        _names, rows = self.read(statement("session_tails"), {"since": ch_time(since)})
        return [SessionTail(*row) for row in rows]

    def session_attributions(
        self, since: datetime, fields: tuple[str, ...]
    ) -> list[tuple[tuple[str, str, str], tuple[object, ...]]]:
        return reads.session_attributions(self.read, ch_time(since), fields)

    def profile(self, scope: Scope, kind: str, subject_id: str) -> dict[str, Any] | None:
        names, rows = self.read(
            statement("profile"),
            {"project": scope.project_id, "env": scope.env, "kind": kind, "subject": subject_id},
        )
        if not rows:
            return None
        doc = dict(zip(names, rows[0], strict=True))
        for name in PROFILE_FIELDS:
            doc[name] = msgspec.json.decode(doc[name])
        return doc

    def stats(self, query: StatsQuery) -> list[dict[str, Any]]:
        return reads.stats(self.read, query)

    def sources(self, query: SourcesQuery) -> list[dict[str, Any]]:
        return reads.sources(self.read, query)

    def sessions(self, query: SessionsQuery) -> list[dict[str, Any]]:
        return reads.sessions(self.read, query)

    def funnel(self, query: FunnelQuery) -> dict[str, Any]:
        return funnels.funnel(self.read, query)

    def attribution(self, query: AttributionQuery) -> dict[str, Any]:
        return credit.attribution(self.read, query)

    def export(self, query: ExportQuery) -> Iterator[pa.RecordBatch]:
        """One SELECT streamed as Arrow (`query_arrow_stream`): it reads the parts that existed
        when it started (a consistent snapshot), events in the table's own order (project, env,
        ts, uid: no sort), and on a client of its own, so reads on this thread go on beside it."""
        time_column = EXPORT_ORDER[query.table][0]
        params: dict[str, Any] = {"project": query.scope.project_id, "env": query.scope.env}
        where = ["project_id = {project:String}", "env = {env:String}"]
        for name, bound, op in (("start", query.start, ">="), ("end", query.end, "<")):
            if bound is not None:
                where.append(f"{time_column} {op} {{{name}:DateTime64(6)}}")
                params[name] = ch_time(bound)
        sql = (
            f"SELECT {', '.join(EXPORT_COLUMNS[query.table])} FROM {_EXPORT_TABLES[query.table]}"
            f" WHERE {' AND '.join(where)} ORDER BY {', '.join(EXPORT_ORDER[query.table])}"
        )
        client = self._connect(self.database)
        try:
            with client.query_arrow_stream(
                sql, parameters=params, use_strings=True, settings=_export_settings(query.batch_rows)
            ) as stream:
                for batch in stream:
                    batch = _export_types(batch)
                    for offset in range(0, batch.num_rows, query.batch_rows):
                        yield batch.slice(offset, query.batch_rows)
        finally:
            client.close()

    def backup(self, path: Path) -> int:
        raise NotSupported(
            message="back up a ClickHouse store with ClickHouse's own BACKUP (docs/portability.md)"
        )

    def session_summary(self, query: SessionSummaryQuery) -> list[dict[str, Any]]:
        return reads.session_summary(self.read, query)

    def funnel_people(self, query: FunnelPeopleQuery) -> dict[str, Any]:
        return funnels.people(self.read, query)

    def attribution_compared(self, query: AttributionQuery) -> dict[str, Any]:
        return credit.compared(self.read, query)

    def conversion_paths(self, query: AttributionQuery) -> dict[str, Any]:
        return journeys.paths(self.read, query)

    def time_to_convert(self, query: AttributionQuery) -> dict[str, Any]:
        return journeys.time_to_convert(self.read, query)

    def conversions_behind(self, query: ConversionsQuery) -> dict[str, Any]:
        return conversions.conversions_behind(self.read, query)

    def page_events(self, query: PageQuery) -> tuple[list[dict[str, Any]], int]:
        return reads.page_events(self.read, query)

    def event_log(self, query: EventLogQuery) -> list[dict[str, Any]]:
        return reads.event_log(self.read, query)

    def event_log_batches(
        self, query: EventLogQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        params: dict[str, Any] = {}
        yield from self._streamed(reads.event_log_sql(query, params, page=False), params, batch_rows)

    def sessions_batches(
        self, query: SessionsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        yield from self._streamed(*reads.sessions_sql(query, page=False), batch_rows)

    def stats_batches(
        self, query: StatsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        yield from self._streamed(*reads.stats_sql(query, page=False), batch_rows)

    def session_summary_batches(
        self, query: SessionSummaryQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        yield from self._streamed(*reads.session_summary_sql(query, page=False), batch_rows)

    def funnel_people_batches(
        self, query: FunnelPeopleQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        yield from self._streamed(*funnels.every_person_sql(query), batch_rows)

    def conversions_behind_batches(
        self, query: ConversionsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        for rows in self._streamed(*conversions.every_conversion_sql(query), batch_rows):
            yield [conversion_row(query, r) for r in rows]

    def _streamed(
        self, sql: str, params: dict[str, Any], batch_rows: int
    ) -> Iterator[list[dict[str, Any]]]:
        """One SELECT streamed as Arrow on a client of its own, as `export` reads; a
        ClickHouse that cannot be reached is a `StoreUnavailable`, as for `read` (the CSV
        downloads read the first batch before answering, so it is their 503)."""
        with _reachable():
            client = self._connect(self.database)
            try:
                with client.query_arrow_stream(
                    sql, parameters=params, use_strings=True, settings=_export_settings(batch_rows)
                ) as stream:
                    for batch in stream:
                        for offset in range(0, batch.num_rows, batch_rows):
                            yield batch.slice(offset, batch_rows).to_pylist()
            finally:
                client.close()

    def distinct_values(self, scope: Scope, names: tuple[str, ...], prop: str) -> set[str]:
        return reads.distinct_values(self.read, scope.project_id, scope.env, names, prop)

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except Exception:
                log.debug("closing a ClickHouse client failed", exc_info=True)


# Export reads links and profiles at their latest version (FINAL), as every read does.
_EXPORT_TABLES = {"events": "events", "links": "identities FINAL", "profiles": "profiles FINAL"}


def _export_settings(batch_rows: int) -> dict[str, Any]:
    """Blocks of about `batch_rows` rows; a sort (links, profiles) spills to disk past 256 MB;
    plain strings, not LowCardinality's dictionaries."""
    return {
        "max_block_size": batch_rows,
        "max_bytes_before_external_sort": 256 << 20,
        "output_format_arrow_low_cardinality_as_dictionary": 0,
    }


def _export_types(batch: pa.RecordBatch) -> pa.RecordBatch:
    """DuckDB's export types: text as `string`, times as naive UTC `timestamp("us")`."""
    fields = []
    for field in batch.schema:
        kind = field.type
        if pa.types.is_timestamp(kind):
            kind = pa.timestamp("us")
        elif pa.types.is_dictionary(kind) or pa.types.is_binary(kind) or pa.types.is_large_string(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind))
    return batch.cast(pa.schema(fields)) if fields != list(batch.schema) else batch


def _first_copies(table: pa.Table) -> list[int]:
    """Row indexes to keep: every row without an event_id, and the earliest-received copy of
    each (project, env, event_id) in the batch."""
    ids = table.column("event_id")
    if ids.null_count == table.num_rows:
        return list(range(table.num_rows))
    project, env, received = (table.column(c).to_pylist() for c in ("project_id", "env", "received_at"))
    best: dict[tuple[str, str, str], int] = {}
    keep: list[int] = []
    for i, event_id in enumerate(ids.to_pylist()):
        if event_id is None:
            keep.append(i)
            continue
        key = (project[i], env[i], event_id)
        j = best.get(key)
        if j is None or received[i] < received[j]:
            best[key] = i
    return sorted([*keep, *best.values()])


def _arrow(columns: list[str], rows: Sequence[Sequence[Any]]) -> pa.Table:
    """Rows as an Arrow table (clickhouse-connect's row insert would import pandas)."""
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})


def _unreachable(exc: Exception) -> bool:
    """A transport failure (server down, network), not a bad query."""
    from clickhouse_connect.driver.exceptions import OperationalError

    return isinstance(exc, OperationalError | OSError)


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """A read whose ClickHouse cannot be reached as a `StoreUnavailable` (503, retry); a bad
    query stays its own error."""
    try:
        yield
    except Exception as exc:
        if not _unreachable(exc):
            raise
        log.warning("store read failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
        raise StoreUnavailable(
            "store_unavailable", "the event store cannot be reached, retry shortly", retry_after=1.0,
        ) from None


def _rows(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]

