"""The overview on `/dashboard/`: for each project a user may see, its live visitors in the
period, the change against the period before and the trend by day (a sparkline). Every figure
is a `StatsQuery` answered by the store, the same question `/v1/stats` answers; the reads run
two at a time, as the report's do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import msgspec

from footfall.dashboard.report import READS_AT_ONCE, bucket_starts
from footfall.dashboard.state import ReportState, comparison_dates, period_dates, utc_range, zone
from footfall.errors import FootfallError
from footfall.model import Scope
from footfall.read.queries import StatsQuery
from footfall.service import Footfall
from footfall.store.meta import Project

__all__ = ["ProjectTrend", "overview"]


class ProjectTrend(msgspec.Struct):
    project: Project
    visitors: float | None  # None: the store could not answer just now
    previous: float | None
    trend: list[float]  # visitors per interval of the period
    first: date
    last: date

    @property
    def change(self) -> float | None:
        if self.visitors is None or not self.previous:
            return None
        return (self.visitors - self.previous) / self.previous


def _visitors(svc: Footfall, scope: Scope, first: date, last: date, tz: str) -> float:
    start, end = utc_range(first, last, tz)
    rows = svc.store.stats(StatsQuery(scope=scope, start=start, end=end, metric="uniques"))
    return float(rows[0]["value"] or 0) if rows else 0.0


def _trend(svc: Footfall, scope: Scope, first: date, last: date, tz: str, interval: str) -> list[float]:
    start, end = utc_range(first, last, tz)
    rows = svc.store.stats(StatsQuery(
        scope=scope, start=start, end=end, metric="uniques", interval=interval, timezone=tz, limit=1000,
    ))
    by_bucket = {r["bucket"].rstrip("Z"): float(r["value"] or 0) for r in rows}
    return [by_bucket.get(b.isoformat(), 0.0) for b in bucket_starts(first, last, interval)]


async def overview(svc: Footfall, projects: list[Project], state: ReportState) -> list[ProjectTrend]:
    """One row per project, in the given order; a project whose reads failed shows no figures."""
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def read(job: Callable[[], Any]) -> Any:
        async with gate:
            return await svc.read(job)

    async def one(p: Project) -> ProjectTrend:
        tz, scope = p.timezone, Scope(p.id, "live")
        first, last = period_dates(state, datetime.now(zone(tz)).date())
        before = comparison_dates(state, first, last)
        jobs = [
            read(lambda: _visitors(svc, scope, first, last, tz)),
            read(lambda: _trend(svc, scope, first, last, tz, state.interval)),
        ]
        if before is not None:
            jobs.append(read(lambda: _visitors(svc, scope, before[0], before[1], tz)))
        try:
            got = await asyncio.gather(*jobs)
        except FootfallError:
            return ProjectTrend(p, None, None, [], first, last)
        return ProjectTrend(p, got[0], got[2] if before else None, got[1], first, last)

    return list(await asyncio.gather(*(one(p) for p in projects)))
