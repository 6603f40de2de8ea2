"""The event store's contract. Backends (DuckDB embedded, ClickHouse) implement `Store`.

Nothing here carries a backend type: writes arrive as newline-delimited JSON of the canonical
`Event`/`IdentityLink` structs (which ClickHouse ingests natively as JSONEachRow), reads leave as
plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import msgspec

from footfall.model import Scope
from footfall.read.queries import (
    AttributionQuery,
    FunnelQuery,
    PageQuery,
    SessionsQuery,
    SessionSummaryQuery,
    SourcesQuery,
    StatsQuery,
)

__all__ = ["EventQuery", "ForgetResult", "Scope", "SessionTail", "Store"]


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

    def append(
        self, events: bytes, links: bytes, upto_seq: int, profiles: list[bytes] | None = None
    ) -> int:
        """Store NDJSON events, identity links and profile updates (JSON of `ProfileUpdate`,
        applied in order) atomically with the WAL position.

        Events whose (project_id, env, event_id) is already stored are skipped (idempotency).
        Returns the number of event rows inserted.
        """

    def query_events(self, query: EventQuery) -> list[dict[str, Any]]:
        """Raw event rows, newest first."""

    def profile(self, scope: Scope, kind: str, subject_id: str) -> dict[str, Any] | None:
        """A visitor's or person's profile: attributes, context, custom_data, enrichment,
        created_at, updated_at; None when unknown."""

    def page_events(self, query: PageQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of events (uid, name, ids, properties, ip, user_agent, ts…) and the total."""

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

    def funnel(self, query: FunnelQuery) -> dict[str, Any]:
        """Per-step people and conversion rates (optionally per breakdown value)."""

    def attribution(self, query: AttributionQuery) -> dict[str, Any]:
        """Conversions and value credited to source/medium/campaign/channel by a model."""

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

    def forget(self, scope: Scope, user_id: str) -> ForgetResult:
        """Delete every event and identity link of a person, and its anonymous ids' events."""

    def purge(self) -> None:
        """Physically remove deleted data from the backend's files (after a forget)."""

    def checkpoint(self) -> None:
        """Flush the backend's own log into its main files."""

    def close(self) -> None: ...
