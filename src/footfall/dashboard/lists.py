"""The dashboard's lists: sessions, the event log and a person's timeline. One page at a time
from the read layer (keyset paging: the next page starts after the last row shown), and every
row in batches for the CSV downloads: no row cap, bounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from footfall.dashboard.state import ReportState, period_dates, utc_range, zone
from footfall.model import Scope
from footfall.read.params import keyset
from footfall.read.queries import EventLogQuery, SessionsQuery, SessionSummaryQuery
from footfall.service import Footfall

__all__ = [
    "CSV_BATCH",
    "EVENT_COLUMNS",
    "PAGE_ROWS",
    "SESSION_COLUMNS",
    "Device",
    "SessionGroup",
    "api_url",
    "devices",
    "event_page",
    "events_csv_rows",
    "parse_keyset",
    "person_path",
    "person_range",
    "report_range",
    "session_page",
    "sessions_csv_rows",
    "streamed_rows",
    "timeline",
]

PAGE_ROWS = 50
CSV_BATCH = 2000
# The CSV columns, in order (the store's answer names).
SESSION_COLUMNS = (
    "start", "end", "duration_s", "person", "anonymous_id", "user_id", "session_id",
    "entry_path", "exit_path", "pageviews", "events", "bounce", "source", "medium", "campaign",
    "channel", "referrer_host", "device_type", "browser", "os", "country",
)  # fmt: skip
EVENT_COLUMNS = (
    "ts", "name", "person", "anonymous_id", "user_id", "session_id", "url", "path", "referrer",
    "referrer_host", "source", "medium", "campaign", "channel", "utm_content", "utm_term",
    "country", "region", "city", "device_type", "browser", "browser_version", "os",
    "os_version", "properties", "uid",
)  # fmt: skip


def person_path(base: str, person: str, section: str = "people") -> str:
    """The person page's URL (or its forget page's): any text is a person id (SDKs choose
    them), so it is escaped.

    >>> person_path("/dashboard/p/prj_1/live", "a/b?c"), person_path("/d", "..", "forget")
    ('/dashboard/p/prj_1/live/people/a%2Fb%3Fc', '/d/forget?id=..')
    """
    if person in (".", ".."):
        # A browser resolves a path segment "." or ".." (even as %2E) before it asks: such an
        # id goes in the query instead.
        return f"{base}/{section}?id={person}"
    return f"{base}/{section}/{quote(person, safe='')}"


def report_range(state: ReportState, tz: str) -> tuple[datetime, datetime]:
    """The report's period as a UTC [start, end), in the project's time zone."""
    first, last = period_dates(state, datetime.now(zone(tz)).date())
    return utc_range(first, last, tz)


def person_range() -> tuple[datetime, datetime]:
    """A person's whole history: every event ever stored, up to a day ahead (clock skew)."""
    return datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1)


def parse_keyset(raw: str | None) -> tuple[datetime, str] | None:
    """`<ISO time>,<id>` from a next-page link; None (the first page) when unreadable.

    >>> parse_keyset("2026-05-01T10:00:00.000001Z,e1")[1], parse_keyset("nope")
    ('e1', None)
    """
    when, sep, key = (raw or "").partition(",")
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        return None
    if not sep or len(key) > 256:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC), key


def _with_person(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The stitched person of a session, as the people counts see it: its user, else its visitor.
    for r in rows:
        r["person"] = r["user_id"] or r["anonymous_id"]
    return rows


def _sessions_query(
    scope: Scope, rng: tuple[datetime, datetime], state: ReportState, **kw: Any
) -> SessionsQuery:
    return SessionsQuery(scope=scope, start=rng[0], end=rng[1], filters=state.filters, **kw)


async def session_page(
    svc: Footfall, scope: Scope, rng: tuple[datetime, datetime], state: ReportState,
    after: tuple[datetime, str] | None, limit: int = PAGE_ROWS,
) -> tuple[list[dict[str, Any]], str | None, int]:
    """One page of sessions, the keyset of the next (None on the last page) and how many
    sessions the list holds in all (the sessions the report's bounce rate counts)."""
    q = _sessions_query(scope, rng, state, after=after, limit=limit)
    total = SessionSummaryQuery(scope=scope, start=rng[0], end=rng[1], filters=state.filters)
    rows = _with_person(await svc.read(lambda: svc.store.sessions(q)))
    count = (await svc.read(lambda: svc.store.session_summary(total)))[0]["sessions"]
    more = len(rows) == limit
    return rows, keyset(rows[-1]["start"], rows[-1]["session_id"]) if more else None, int(count)


async def event_page(
    svc: Footfall, q: EventLogQuery
) -> tuple[list[dict[str, Any]], str | None]:
    rows = await svc.read(lambda: svc.store.event_log(q))
    more = len(rows) == q.limit
    return rows, keyset(rows[-1]["ts"], rows[-1]["uid"]) if more else None


class _Feed:
    """A store's batches, read on a thread of their own. A download abandoned mid-read (the
    client gone, the response cancelled) closes them after the read in flight: closed from
    another thread, the generator was still executing and refused, leaving its transaction
    and the store's read gate to the garbage collector."""

    def __init__(self, batches: Iterator[list[dict[str, Any]]]) -> None:
        self._batches = batches
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="csv")

    async def next(self) -> list[dict[str, Any]] | None:
        return await asyncio.get_running_loop().run_in_executor(self._thread, next, self._batches, None)

    async def close(self) -> None:
        closing = asyncio.get_running_loop().run_in_executor(self._thread, self._batches.close)  # type: ignore[attr-defined]
        self._thread.shutdown(wait=False)  # the close queued behind any read still runs
        await asyncio.shield(closing)


async def streamed_rows(
    svc: Footfall, batches: Iterator[list[dict[str, Any]]], columns: Sequence[str]
) -> AsyncIterator[list[Any]]:
    """CSV rows (each row's `columns`) from a store's batches (one streamed read, as
    `/v1/export` reads), after everything acknowledged so far is stored, each batch fetched
    off the event loop: the CSVs of the lists, of a panel and of a funnel's people.

    The first batch is read before this returns: a store that cannot answer (catching up, out
    of memory) fails the request with its 503 and `Retry-After`, where failing inside the
    stream came after a 200 and the CSV's header had gone out."""
    feed = _Feed(batches)
    try:
        await svc.read(lambda: None)
        first = await feed.next()
    except BaseException:
        await feed.close()
        raise
    return _rows(first, feed, columns)


async def _rows(
    first: list[dict[str, Any]] | None, feed: _Feed, columns: Sequence[str]
) -> AsyncIterator[list[Any]]:
    try:
        rows = first
        while rows is not None:
            for r in rows:
                yield [r[c] for c in columns]
            rows = await feed.next()
    finally:
        await feed.close()


async def sessions_csv_rows(
    svc: Footfall, scope: Scope, rng: tuple[datetime, datetime], state: ReportState
) -> AsyncIterator[list[Any]]:
    q = _sessions_query(scope, rng, state)
    return await streamed_rows(svc, _with_people(svc.store.sessions_batches(q, CSV_BATCH)), SESSION_COLUMNS)


def _with_people(batches: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    try:
        for rows in batches:
            yield _with_person(rows)
    finally:
        batches.close()  # type: ignore[attr-defined]


async def events_csv_rows(svc: Footfall, q: EventLogQuery) -> AsyncIterator[list[Any]]:
    batches = svc.store.event_log_batches(msgspec.structs.replace(q, before=None), CSV_BATCH)
    return await streamed_rows(svc, batches, EVENT_COLUMNS)


class SessionGroup(msgspec.Struct):
    session_id: str | None
    events: list[dict[str, Any]]


def timeline(rows: list[dict[str, Any]]) -> list[SessionGroup]:
    """A page of a person's events (newest first), in runs of the same session."""
    groups: list[SessionGroup] = []
    for r in rows:
        if not groups or groups[-1].session_id != r["session_id"]:
            groups.append(SessionGroup(r["session_id"], []))
        groups[-1].events.append(r)
    return groups


class Device(msgspec.Struct):
    anonymous_id: str | None
    device_type: str | None
    browser: str | None
    os: str | None
    country: str | None
    sessions: int
    last_seen: str


def devices(sessions: list[dict[str, Any]]) -> list[Device]:
    """The devices (anonymous ids: one per browser or app install) of a person's sessions,
    most recently seen first (the sessions come newest first). What a device is comes from its
    latest session a browser sent (a server-side identify has no user agent of its own)."""
    seen: dict[str | None, Device] = {}
    for s in sessions:
        d = seen.get(s["anonymous_id"])
        if d is None:
            d = seen[s["anonymous_id"]] = Device(
                s["anonymous_id"], s["device_type"], s["browser"], s["os"], s["country"], 0,
                s["start"],
            )
        d.sessions += 1
        if d.browser is None and s["browser"] is not None:
            d.device_type, d.browser, d.os = s["device_type"], s["browser"], s["os"]
            d.country = d.country or s["country"]
    return list(seen.values())


def api_url(route: str, rng: tuple[datetime, datetime], /, **params: Any) -> str:
    """The API call that answers the same rows (with a read key: `Authorization: Bearer rk_…`)."""
    q = {"from": _iso(rng[0]), "to": _iso(rng[1])}
    q.update({k: str(v) for k, v in params.items() if v not in (None, "")})
    return f"{route}?{urlencode(q)}"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
