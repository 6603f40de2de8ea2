"""`/dashboard/p/{project}/{env}`: the report. `?panel=<name>` answers one panel alone (htmx)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.pages.segments import report_state
from footfall.dashboard.report import PANELS, ReportRun, build_report
from footfall.dashboard.state import CHART_METRICS, COMPARISONS, PERIODS
from footfall.dashboard.web import page, streamed_page, world
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
    state = report_state(request, access)
    scope = Scope(access.project.id, access.env)
    svc = auth.service(request)
    context = {
        **access.context(request),
        "state": state, "periods": PERIODS, "comparisons": COMPARISONS,
        "intervals": INTERVALS, "chart_metrics": CHART_METRICS, "filter_labels": FILTER_LABELS,
        "world": world(),
        "segments": [] if access.read_only else svc.meta.segments.list(access.project.id),
    }
    panel = request.query_params.get("panel")
    if request.headers.get("hx-request") and panel in {p.name for p in PANELS}:
        try:
            data = await build_report(svc, scope, access.project.timezone, state)
        except FootfallError as err:
            return _failed(request, access, err)
        shown = [(p, rows) for p, rows in data.panels if p.name == panel]
        return page(request, "_panels.html", {**context, "report": data, "panels": shown})
    run = ReportRun(svc, scope, access.project.timezone, state)
    try:
        head = await run.head()  # the first byte carries the KPIs and the chart data
    except FootfallError as err:  # the store is catching up or out of memory: say so
        run.cancel()
        return _failed(request, access, err)
    return streamed_page(
        request, "report.html", {**context, "report": head, "panels": run.panels()}, run.cancel
    )


def _failed(request: Request, access: Access, err: FootfallError) -> Response:
    headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
    return page(request, "error.html", {"session": access.session, "message": err.message}, err.status, headers)


routes = [Route("/dashboard/p/{project_id}/{env}", report, methods=["GET"])]
