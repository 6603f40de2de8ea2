"""The event store's contract. Backends (DuckDB embedded, ClickHouse) implement `Store`.

Nothing here carries a backend type: writes arrive as newline-delimited JSON of the canonical
`Event`/`IdentityLink` structs (which ClickHouse ingests natively as JSONEachRow), reads leave as
plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

from footfall.model import Event, Scope
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

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["EXPORT_COLUMNS", "EXPORT_ORDER", "EventQuery", "ExportQuery", "ForgetResult", "Scope", "SessionTail", "Store"]


class EventQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    event: str | None = None
    source: str | None = None
    medium: str | None = None
    user_id: str | None = None  # also matches the person's linked anonymous events
    anonymous_id: str | None = None
    country: str | None = None
    limit: int = 100


ExportTable = Literal["events", "links", "profiles"]

# What `Store.export` returns per table: its columns, in this order, sorted by `EXPORT_ORDER`.
# events: the fields of `model.Event`, in declaration order; profiles' JSON columns are text.
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": tuple(f.name for f in msgspec.structs.fields(Event)),
    "links": ("project_id", "env", "anonymous_id", "user_id", "ts"),
    "profiles": (
        "project_id", "env", "kind", "subject_id", "attributes", "context", "custom_data",
        "enrichment", "created_at", "updated_at",
    ),
}  # fmt: skip
EXPORT_ORDER: dict[str, tuple[str, ...]] = {
    "events": ("ts", "uid"),
    "links": ("ts", "anonymous_id"),
    "profiles": ("updated_at", "kind", "subject_id"),
}


class ExportQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Every stored row of one table in one scope, for export and backup."""

    scope: Scope
    table: ExportTable
    start: datetime | None = None  # inclusive, UTC; on events.ts, links.ts, profiles.updated_at
    end: datetime | None = None  # exclusive, UTC
    batch_rows: int = 256


class ForgetResult(msgspec.Struct, frozen=True):
    events: int
    identities: int
    sessions: int = 0


class SessionTail(msgspec.Struct, frozen=True):
    """The latest session of a visitor, to carry sessions across a restart."""

    project_id: str
    env: str
    anonymous_id: str
    session_id: str
    first_ts: datetime
    last_ts: datetime


class Store(Protocol):
    def migrate(self) -> None:
        """Create or upgrade the schema to the newest version."""

    def applied_seq(self) -> int:
        """The last write-ahead-log sequence number whose records are stored."""

    def checkpointed_seq(self) -> int:
        """The last write-ahead-log sequence number whose records would outlive the backend
        losing its own log (DuckDB: folded into the main file by a checkpoint). The loader
        keeps Footfall's WAL from there, so it can replay what such a loss took."""

    def append(
        self,
        events: bytes,
        links: bytes,
        upto_seq: int,
        profiles: list[bytes] | None = None,
        *,
        imported: bytes | pa.Table = b"",
    ) -> int:
        """Store NDJSON events, identity links and profile updates (JSON of `ProfileUpdate`,
        applied in order) atomically with the WAL position.

        Events whose (project_id, env, event_id) is already stored are skipped (idempotency).
        `imported` holds events from an import (`footfall import`: NDJSON, or an Arrow table
        of `EVENT_SCHEMA` with naive UTC times from an offline bulk import), stored like
        `events` but also skipped when their (project_id, env, uid) is already stored, so
        importing a file twice stores it once (the loader passes it only when non-empty).
        Sessions and rollups fold both kinds alike. Returns the number of event rows inserted.
        """

    def query_events(self, query: EventQuery) -> list[dict[str, Any]]:
        """Raw event rows, newest first."""

    def profile(self, scope: Scope, kind: str, subject_id: str) -> dict[str, Any] | None:
        """A visitor's or person's profile: attributes, context, custom_data, enrichment,
        created_at, updated_at; None when unknown."""

    def page_events(self, query: PageQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of events (uid, name, ids, properties, ip, user_agent, ts…) and the total."""

    def event_log(self, query: EventLogQuery) -> list[dict[str, Any]]:
        """One page of events, newest first: uid, ts (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), name,
        person, anonymous_id, user_id (resolved through the links), session_id, the page, the
        attribution, geo and device columns, properties (JSON text). Cheap to page through
        to the end (keyset on `before`)."""

    def event_log_batches(
        self, query: EventLogQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        """Every row `event_log` pages through for `query` (from `before` on, `limit`
        ignored), in the same order and shape, `batch_rows` at a time: one read of one
        consistent snapshot in bounded memory (the CSV downloads); closing the iterator early
        releases it."""

    def sessions_batches(
        self, query: SessionsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        """Every row `sessions` pages through for `query` (from `after` on, `limit` ignored),
        in the same order and shape, `batch_rows` at a time, as `event_log_batches`."""

    def distinct_values(self, scope: Scope, names: tuple[str, ...], prop: str) -> set[str]:
        """Every value of property `prop` on events named `names`."""

    def stats(self, query: StatsQuery) -> list[dict[str, Any]]:
        """`/v1/stats` rows: group columns, optional `bucket`, `value`."""

    def sources(self, query: SourcesQuery) -> list[dict[str, Any]]:
        """`/v1/sources` rows: source(, medium), events, uniques, paid_share."""

    def sessions(self, query: SessionsQuery) -> list[dict[str, Any]]:
        """Session rows (start, end, duration, entry/exit page, bounce, first-event source…)."""

    def session_summary(self, query: SessionSummaryQuery) -> list[dict[str, Any]]:
        """Sessions started in the range: (group,) sessions, bounces, duration_s (total)."""

    def stats_batches(
        self, query: StatsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        """Every row `stats` answers for `query` (`limit` ignored), in the same order and
        shape, `batch_rows` at a time: one read of one consistent snapshot, holding about a
        batch in Python (a report panel's CSV); closing the iterator early releases it."""

    def session_summary_batches(
        self, query: SessionSummaryQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        """Every row `session_summary` answers for `query` (`limit` ignored), in the same
        order and shape, `batch_rows` at a time, as `stats_batches`."""

    def funnel(self, query: FunnelQuery) -> dict[str, Any]:
        """Per-step people and conversion rates (optionally per breakdown value)."""

    def funnel_people(self, query: FunnelPeopleQuery) -> dict[str, Any]:
        """One page of the people behind a step of `query.funnel`, counted exactly as `funnel`
        counts them: `converted` = reached step `query.step`; `dropped` = reached it and not
        step + 1 (only for a step before the last). With `query.group`, only people whose
        breakdown value equals it. Newest entry (step-1 time) first, then person id.
        Answer: step, event, outcome, breakdown, group, total (all matching people), limit,
        offset, people: [{person, entered_at (step-1 time), reached_at (step time), group (with
        a breakdown)}]; times as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""

    def funnel_people_batches(
        self, query: FunnelPeopleQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        """Every row of `people` that `funnel_people` pages through for `query` (`limit` and
        `offset` ignored), in the same order and shape, `batch_rows` at a time, as
        `stats_batches` (the people CSV)."""

    def attribution(self, query: AttributionQuery) -> dict[str, Any]:
        """Conversions and value credited to source/medium/campaign/channel by a model."""

    def attribution_compared(self, query: AttributionQuery) -> dict[str, Any]:
        """Every model of ATTRIBUTION_MODELS at once (`query.model` ignored), with the same
        conversions, touchpoints and weights as `attribution`. Answer: as `attribution` with
        model "all", models (their names in order), and rows: {<group_by keys>,
        conversions: {model: credit}, value: {model: credit}, disagreement: (max - min of the
        rounded conversion credits over the models) / total conversions}, by the sum of the
        rounded credits over the models descending, then the keys (nulls last), `limit` rows."""

    def conversion_paths(self, query: AttributionQuery) -> dict[str, Any]:
        """Each conversion's path: the `query.group_by[0]` value of its touchpoints (those
        `attribution` weighs) ordered by (session start, session id); `[direct]` when it has
        none. Answer: conversion, value_property, lookback_seconds, totals, dimension, rows:
        {path, touchpoints (its length), conversions, value, share of all conversions}, by
        conversions, rounded value descending, shorter path, path text; `limit` rows."""

    def time_to_convert(self, query: AttributionQuery) -> dict[str, Any]:
        """Seconds from the start of each conversion's first touchpoint to the conversion
        (conversions without touchpoints are left out). Answer: conversion, lookback_seconds,
        totals {conversions, with_touchpoints}, seconds {p25, p50, p75, p90 (nearest rank,
        SQL quantile_disc), mean, min, max} (null when none), median_touchpoints, buckets:
        [{from_seconds, to_seconds (null: open), conversions}] over bounds 0, 1 h, 1 d, 3 d,
        7 d, 14 d, 30 d."""

    def conversions_behind(self, query: ConversionsQuery) -> dict[str, Any]:
        """One page of the conversions behind one number of `conversion_paths` (a path),
        `time_to_convert` (a bucket) or `attribution`/`attribution_compared` (a row's credit
        under `query.attribution.model`), each with its person, newest first (ts, then uid,
        descending). Answer: conversion, value_property, lookback_seconds, behind, (model,
        dimension, key | dimension, path | bucket {from_seconds, to_seconds}), totals
        {conversions, people, value, and for credit: credit (the row's number: the sum of
        the shares), credited_value}, limit, offset, rows: [{uid, ts
        (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), person, session_id, value, and for a bucket seconds
        and touchpoints, for credit its share `credit` and `credited_value`}]."""

    def conversions_behind_batches(
        self, query: ConversionsQuery, batch_rows: int = 2000
    ) -> Iterator[list[dict[str, Any]]]:
        """Every row of `rows` that `conversions_behind` pages through for `query` (`limit`
        and `offset` ignored), in the same order and shape, `batch_rows` at a time, as
        `stats_batches` (the conversions CSV)."""

    def session_tails(self, since: datetime) -> list[SessionTail]:
        """Each visitor's latest session that had an event at or after `since`."""

    def session_attributions(
        self, since: datetime, fields: tuple[str, ...]
    ) -> list[tuple[tuple[str, str, str], tuple[object, ...]]]:
        """For sessions active at or after `since`: ((project, env, session_id), the `fields` of
        the session's first event that had an attribution signal of its own)."""

    def reclassify(
        self,
        since: datetime | None,
        classify: Callable[[str, str | None, str | None], dict[str, Any]],
        inherited_fields: tuple[str, ...],
        rows_per_transaction: int = 500_000,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Re-run attribution on stored events at or after `since` (all when None).

        `classify(project_id, url, referrer)` is called once per distinct input and returns the
        attribution columns; then events without a signal of their own take the first earlier
        signal of their session (`inherited_fields`). Only events whose values change are
        written, oldest first, at most `rows_per_transaction` per transaction; `progress(done,
        of)` is called after each transaction. Returns the number of events changed.
        """

    def export(self, query: ExportQuery) -> Iterator[pa.RecordBatch]:
        """Every row of `query.table` in scope and range, all stored columns (see
        `EXPORT_ORDER` for names, order and sort), as Arrow record batches of at most
        `batch_rows` rows. Timestamps are Arrow `timestamp("us")` in UTC (naive or tagged
        "UTC"); JSON columns are text. Streams in bounded memory from one consistent snapshot
        (rows written meanwhile are not seen); closing the iterator early releases it.
        """

    def backup(self, path: Path) -> int:
        """Write a consistent copy of the whole store to `path` (a new file or directory in
        the backend's own format, which a store opened on it reads) while writes go on, and
        return the WAL position that copy holds (its `applied_seq`)."""

    def forget(self, scope: Scope, user_id: str) -> ForgetResult:
        """Delete every event and identity link of a person, and its anonymous ids' events."""

    def purge(self) -> None:
        """Physically remove deleted data from the backend's files (after a forget)."""

    def checkpoint(self) -> None:
        """Flush the backend's own log into its main files."""

    def close(self) -> None: ...
