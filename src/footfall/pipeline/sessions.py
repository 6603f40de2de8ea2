"""Cookieless-friendly sessions: `${anonymous_id}-${bucket}` with a 30-minute inactivity timeout.

The bucket is `floor(unix_seconds / 1800)` of the session's *first* event, so a visit that
crosses a bucket edge keeps one id (the vendor's fixed buckets would split it). Only visitors seen
in the last half hour need state; after a restart it is rebuilt from the store.

`VisitorState` is that per-visitor memory as the pipeline uses it. `Sessionizer` keeps it in
this process (one node); `footfall.state.redis` keeps it in Redis, so nodes behind a load
balancer assign the same sessions as one node would.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from footfall.store.base import SessionTail

__all__ = [
    "INHERITED_FIELDS",
    "NO_SIGNAL_RULES",
    "SESSION_INHERITED",
    "SESSION_TIMEOUT",
    "ImportSessionizer",
    "Sessionizer",
    "VisitorState",
    "session_id_for",
]

SESSION_TIMEOUT = timedelta(minutes=30)
_BUCKET_SECONDS = 1800

# Classifier outcomes that carry no attribution signal of the event's own.
NO_SIGNAL_RULES = frozenset({"direct", "self_referral"})
SESSION_INHERITED = "session_inherited"
# What an event without a signal takes from the first event of its session that had one.
INHERITED_FIELDS = (
    "source",
    "medium",
    "campaign",
    "utm_term",
    "utm_content",
    "campaign_id",
    "click_id_type",
    "click_id",
    "source_confidence",
    "channel",
)
SessionKey = tuple[str, str, str]


class VisitorState(Protocol):
    """Open sessions and session attribution, per (project, env, visitor)."""

    def assign(
        self, project_id: str, env: str, anonymous_id: str, ts: datetime, may_open: bool = True
    ) -> str | None:
        """The session of an event at `ts`: extends the open one, or opens one. An event that
        `may_open` not (time on a page) gets None outside an open session, changing nothing."""
        ...

    def attribution(self, key: SessionKey) -> tuple[object, ...] | None:
        """The session's attribution (INHERITED_FIELDS order), if an event had a signal."""
        ...

    def remember_attribution(self, key: SessionKey, values: tuple[object, ...]) -> None:
        """The first event with a signal sets its session's attribution; later ones don't."""
        ...

    def restore(self, tails: list[SessionTail]) -> None:
        """Open sessions read back from the store at start-up."""
        ...

    def restore_attributions(self, rows: list[tuple[SessionKey, tuple[object, ...]]]) -> None: ...


_CLICK_ID = INHERITED_FIELDS.index("click_id")


def _shared(values: tuple[object, ...]) -> tuple[object, ...]:
    """The attribution with its repeated strings (source, medium, campaign, channel, …) shared
    by every session that holds them: decoded from each request's URL, each session kept its
    own copies, ~300 of the ~850 bytes of a visitor with an attributed session (#23). Interned
    strings are freed with their last holder; the click id is unique to the visit."""
    shared = tuple(
        sys.intern(v) if type(v) is str and i != _CLICK_ID else v for i, v in enumerate(values)
    )
    return values if all(a is b for a, b in zip(shared, values, strict=True)) else shared


def session_id_for(anonymous_id: str, first_ts: datetime) -> str:
    return f"{anonymous_id}-{int(first_ts.timestamp()) // _BUCKET_SECONDS}"


_clock = [0]
_bucket = [0]


def _touch() -> int:
    """`time.monotonic()` in whole seconds, as one int object for every visit touched in the
    same second: a float of its own took 24 bytes per visitor (#23; the sweep's horizon has a
    minute's slack, so seconds are fine)."""
    now = int(time.monotonic())
    if now != _clock[0]:
        _clock[0] = now
    return _clock[0]


def _bucket_of(ts: datetime) -> int:
    """The session bucket of `ts`, one int object for the visits opened in the same bucket."""
    bucket = int(ts.timestamp()) // _BUCKET_SECONDS
    if bucket != _bucket[0]:
        _bucket[0] = bucket
    return _bucket[0]


class _Open:
    """A visitor's open session, with that session's attribution once an event had a signal:
    one record per visitor instead of a second entry keyed by session (#23: ~180 of the ~570
    bytes each visitor took, most of the server's memory under varied traffic).

    `session` is the id's bucket when the id is `anonymous_id-bucket` (as this class makes
    them: the id string, ~70 bytes a visitor, is built when asked for), else the id itself."""

    __slots__ = ("attribution", "first", "last", "session", "touched")

    def __init__(self, session: str | int, first: datetime, last: datetime) -> None:
        self.session = session
        self.first = first
        self.last = last
        self.touched = _touch()
        self.attribution: tuple[object, ...] | None = None

    def session_id(self, anonymous_id: str) -> str:
        session = self.session
        return session if type(session) is str else f"{anonymous_id}-{session}"


def _compact(anonymous_id: str, session_id: str) -> str | int:
    """A stored session id as `_Open.session`: its bucket when it is the one this class makes."""
    head, _, bucket = session_id.rpartition("-")
    if head == anonymous_id and bucket.isascii() and bucket.isdigit() and str(int(bucket)) == bucket:
        return int(bucket)
    return session_id


class Sessionizer:
    def __init__(self) -> None:
        # (project, env) → anonymous_id → open visit: a key tuple per visitor took 64 bytes (#23).
        self._open: dict[tuple[str, str], dict[str, _Open]] = {}
        # The attribution of sessions that are not their visitor's open one (a late event's, an
        # id the client chose, one replaced by a newer visit): (project, env, session_id) →
        # (touched, values in INHERITED_FIELDS order).
        self._attribution: dict[SessionKey, tuple[float, tuple[object, ...]]] = {}
        self._last_sweep = time.monotonic()

    def _visit_of(self, key: SessionKey) -> _Open | None:
        """The open visit whose session is `key`: ids this class makes are `anonymous_id-bucket`."""
        anonymous_id = key[2].rpartition("-")[0]
        visits = self._open.get((key[0], key[1]))
        visit = visits.get(anonymous_id) if visits is not None else None
        return visit if visit is not None and visit.session_id(anonymous_id) == key[2] else None

    def attribution(self, key: SessionKey) -> tuple[object, ...] | None:
        visit = self._visit_of(key)
        if visit is not None and visit.attribution is not None:
            visit.touched = _touch()
            return visit.attribution
        hit = self._attribution.get(key)
        if hit is None:
            return None
        self._attribution[key] = (_touch(), hit[1])
        return hit[1]

    def remember_attribution(self, key: SessionKey, values: tuple[object, ...]) -> None:
        """The first event with a signal sets its session's attribution; later ones don't."""
        visit = self._visit_of(key)
        if visit is not None:
            if visit.attribution is None and key not in self._attribution:
                visit.attribution = _shared(values)
        elif key not in self._attribution:
            self._attribution[key] = (_touch(), _shared(values))
            self._maybe_sweep()

    def restore_attributions(self, rows: list[tuple[SessionKey, tuple[object, ...]]]) -> None:
        now = _touch()
        for key, stored in rows:
            values = _shared(stored)
            visit = self._visit_of(key)
            if visit is not None:
                visit.attribution = values
            else:
                self._attribution[key] = (now, values)

    def __len__(self) -> int:
        return sum(len(visits) for visits in self._open.values())

    def _visits(self) -> list[tuple[SessionKey, _Open]]:
        return [((p, e, a), v) for (p, e), visits in self._open.items() for a, v in visits.items()]

    def _drop(self, keys: list[SessionKey]) -> None:
        for project_id, env, anonymous_id in keys:
            visits = self._open[(project_id, env)]
            del visits[anonymous_id]
            if not visits:
                del self._open[(project_id, env)]

    def restore(self, tails: list[SessionTail]) -> None:
        for t in tails:
            self._open.setdefault((t.project_id, t.env), {})[t.anonymous_id] = _Open(
                _compact(t.anonymous_id, t.session_id), _utc(t.first_ts), _utc(t.last_ts)
            )

    def assign(
        self, project_id: str, env: str, anonymous_id: str, ts: datetime, may_open: bool = True
    ) -> str | None:
        visits = self._open.get((project_id, env))
        state = visits.get(anonymous_id) if visits is not None else None
        if state is not None:
            if state.first - SESSION_TIMEOUT <= ts <= state.last + SESSION_TIMEOUT:
                state.first = min(state.first, ts)
                state.last = max(state.last, ts)
                state.touched = _touch()
                return state.session_id(anonymous_id)
            if not may_open:
                return None
            if ts < state.first:
                # A late event from an earlier visit: its own session, the open one stays open.
                return session_id_for(anonymous_id, ts)
        if not may_open:
            return None
        if state is not None and state.attribution is not None:
            # A late event may still land in the replaced session (its bucket's id): keep its
            # attribution, as long as any session's.
            replaced = (project_id, env, state.session_id(anonymous_id))
            self._attribution[replaced] = (state.touched, state.attribution)
        bucket = _bucket_of(ts)
        if visits is None:
            visits = self._open[(project_id, env)] = {}
        visits[anonymous_id] = _Open(bucket, ts, ts)
        self._maybe_sweep()
        return f"{anonymous_id}-{bucket}"

    def _maybe_sweep(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < 60:
            return
        self._last_sweep = now
        horizon = now - SESSION_TIMEOUT.total_seconds() - 60
        self._drop([k for k, v in self._visits() if v.touched < horizon])
        old = [k for k, (touched, _v) in self._attribution.items() if touched < horizon]
        for key in old:
            del self._attribution[key]


class ImportSessionizer(Sessionizer):
    """Sessions for imported history, assigned by the same rules, but a visit's state is
    dropped once the import's own time has moved 30 minutes past it (not after half an hour of
    wall time): a large import holds only its open visits, and never mixes with live ones."""

    def __init__(self, keep: int = 50_000) -> None:
        super().__init__()
        self._frontier: datetime | None = None
        self._keep = keep

    def assign(
        self, project_id: str, env: str, anonymous_id: str, ts: datetime, may_open: bool = True
    ) -> str | None:
        if self._frontier is None or ts > self._frontier:
            self._frontier = ts
        return super().assign(project_id, env, anonymous_id, ts, may_open)

    def _maybe_sweep(self) -> None:
        if self._frontier is None or len(self) + len(self._attribution) <= self._keep:
            return
        horizon = self._frontier - SESSION_TIMEOUT
        self._drop([k for k, v in self._visits() if v.last < horizon])
        open_sessions = {(k[0], k[1], v.session_id(k[2])) for k, v in self._visits()}
        for session in [s for s in self._attribution if s not in open_sessions]:
            del self._attribution[session]
        # Sweep again only once the state has doubled (dense history keeps many visits open).
        self._keep = max(self._keep, 2 * (len(self) + len(self._attribution)))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
