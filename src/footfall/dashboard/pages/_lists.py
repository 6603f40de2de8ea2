"""What the list pages (sessions, events, a person) share: the period controls' context and
the answer when the store cannot read just now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.dashboard.lists import person_path
from footfall.dashboard.pages._access import Access
from footfall.dashboard.pages.report import FILTER_LABELS
from footfall.dashboard.state import PERIODS, ReportState, period_dates, zone
from footfall.dashboard.web import page
from footfall.errors import FootfallError

__all__ = ["list_context", "read_failed"]


def list_context(request: Request, access: Access, state: ReportState) -> dict[str, Any]:
    first, last = period_dates(state, datetime.now(zone(access.project.timezone)).date())
    return {
        **access.context(request), "state": state, "periods": PERIODS,
        "filter_labels": FILTER_LABELS, "first": first, "last": last,
        "person_url": lambda person: person_path(access.base, person),
    }


def read_failed(request: Request, access: Access, err: FootfallError) -> Response:
    headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
    return page(request, "error.html", {"session": access.session, "message": err.message}, err.status, headers)
