"""`/dashboard/p/{project}/{env}`: the report. `?panel=<name>` answers one panel alone (htmx)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.pages._access import Access, allowed_projects, project_access
from footfall.dashboard.report import PANELS, build_report
from footfall.dashboard.state import CHART_METRICS, COMPARISONS, PERIODS, parse_state
from footfall.dashboard.web import page, world
from footfall.errors import FootfallError
from footfall.model import Scope
from footfall.read.queries import INTERVALS

__all__ = ["FILTER_LABELS", "routes"]

FILTER_LABELS = {
    "source": "Source", "medium": "Medium", "campaign": "Campaign", "channel": "Channel",
    "referrer_host": "Referrer", "country": "Country", "device_type": "Device",
    "browser": "Browser", "os": "OS", "path": "Page", "utm_content": "UTM content",
    "utm_term": "UTM term", "region": "Region", "city": "City",
}  # fmt: skip


async def report(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    state = parse_state(request.query_params)
    scope = Scope(access.project.id, access.env)
    try:
        data = await build_report(auth.service(request), scope, access.project.timezone, state)
    except FootfallError as err:  # the store is catching up or out of memory: say so, retry
        headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
        return page(request, "error.html", {"session": access.session, "message": err.message}, err.status, headers)
    template = "report.html"
    panel = request.query_params.get("panel")
    if request.headers.get("hx-request") and panel in {p.name for p in PANELS}:
        data.panels = [(p, rows) for p, rows in data.panels if p.name == panel]
        template = "_panels.html"
    return page(request, template, {
        "session": access.session, "project": access.project, "env": access.env,
        "projects": allowed_projects(request, access.session),
        "state": state, "report": data, "periods": PERIODS, "comparisons": COMPARISONS,
        "intervals": INTERVALS, "chart_metrics": CHART_METRICS, "filter_labels": FILTER_LABELS,
        "world": world(),
        "base": f"/dashboard/p/{access.project.id}/{access.env}",
    })


routes = [Route("/dashboard/p/{project_id}/{env}", report, methods=["GET"])]
