"""The web dashboard under `/dashboard`: server-rendered Jinja2 pages fed by the read layer.

Each page is a module in `pages/` exporting `routes`; a new page is one module and one line here.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from footfall.dashboard.pages import (
    account,
    attribution,
    conversions,
    events,
    funnels,
    home,
    login,
    people,
    realtime,
    segments,
    sessions,
)
from footfall.dashboard.pages import report as report_page  # `report` is the numbers module
from footfall.dashboard.pages import share as share_page  # `share` is the links' cookie module
from footfall.dashboard.web import STATIC

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    return [
        *login.routes,
        *home.routes,
        *report_page.routes,
        *realtime.routes,
        *funnels.routes,
        *share_page.routes,
        *segments.routes,
        *attribution.routes,
        *conversions.routes,
        *account.routes,
        *sessions.routes,
        *events.routes,
        *people.routes,
        Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
    ]
