"""`/dashboard/p/{project}/{env}`: the report. `?panel=<name>` answers one panel alone (htmx);
with `&all=1` every row of it (a page of its own without htmx), with `&format=csv` its rows
as CSV (every row, the same filters)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.csv_download import csv_download
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.pages.segments import report_state
from footfall.dashboard.report import (
    PANELS,
    Panel,
    ReportRun,
    build_report,
    chart_rows,
    kpi_rows,
    panel_csv_rows,
    panel_header,
    panel_rows,
)
from footfall.dashboard.state import CHART_METRICS, COMPARISONS, PERIODS, ReportState
from footfall.dashboard.web import page, streamed_page, world
from footfall.errors import FootfallError
from footfall.model import Scope
from footfall.read.queries import INTERVALS

__all__ = ["FILTER_LABELS", "routes"]

ALL_SHOWN = 1000  # rows a panel's "show all" lists; its CSV has every row

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
        "world": world(), "showing_all": False,
        "segments": [] if access.read_only else svc.meta.segments.list(access.project.id),
    }
    panel = request.query_params.get("panel")
    if panel in ("chart", "kpis") and request.query_params.get("format") == "csv":
        return await _figures_csv(request, access, state, panel)
    chosen = next((p for p in PANELS if p.name == panel), None)
    if chosen is not None and request.query_params.get("format") == "csv":
        return await _csv(request, access, chosen, state)
    if chosen is not None and request.query_params.get("all"):
        try:
            rows, more = await panel_rows(svc, scope, access.project.timezone, state, chosen, ALL_SHOWN)
        except FootfallError as err:
            return _failed(request, access, err)
        context |= {"panels": [(chosen, rows, more)], "showing_all": True, "api": {}}
        hx = bool(request.headers.get("hx-request"))
        return page(request, "_panels.html" if hx else "panel.html", context)
    if request.headers.get("hx-request") and chosen is not None:
        try:
            data = await build_report(svc, scope, access.project.timezone, state)
        except FootfallError as err:
            return _failed(request, access, err)
        shown = [(p, rows, more) for p, rows, more in data.panels if p.name == panel]
        return page(request, "_panels.html", {**context, "report": data, "panels": shown, "api": data.api})
    run = ReportRun(svc, scope, access.project.timezone, state)
    try:
        head = await run.head()  # the first byte carries the KPIs and the chart data
    except FootfallError as err:  # the store is catching up or out of memory: say so
        run.cancel()
        return _failed(request, access, err)
    return streamed_page(
        request, "report.html", {**context, "report": head, "panels": run.panels(), "api": head.api},
        run.cancel,
    )


async def _csv(request: Request, access: Access, panel: Panel, state: ReportState) -> Response:
    """Every row of one panel, with the report's filters."""
    svc = auth.service(request)
    try:
        rows = await panel_csv_rows(svc, Scope(access.project.id, access.env), access.project.timezone, state, panel)
    except FootfallError as err:
        return _failed(request, access, err)
    return csv_download(f"{panel.name}.csv", panel_header(panel), rows)


async def _figures_csv(request: Request, access: Access, state: ReportState, panel: str) -> Response:
    """The chart's points (each bucket and its figure) or the KPIs (each one's figure), with
    the compared period's beside them."""
    svc, scope = auth.service(request), Scope(access.project.id, access.env)
    read = chart_rows if panel == "chart" else kpi_rows
    try:
        rows = await read(svc, scope, access.project.timezone, state)
    except FootfallError as err:
        return _failed(request, access, err)
    if panel == "chart":
        name, header, compared = f"chart-{state.metric}.csv", ["bucket", state.metric], ["compared_bucket", f"compared_{state.metric}"]
    else:
        name, header, compared = "kpis.csv", ["kpi", "value"], ["compared_value"]
    if rows and len(rows[0]) > len(header):  # compared with another period
        header += compared
    return csv_download(name, header, rows)


def _failed(request: Request, access: Access, err: FootfallError) -> Response:
    headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
    return page(request, "error.html", {"session": access.session, "message": err.message}, err.status, headers)


routes = [Route("/dashboard/p/{project_id}/{env}", report, methods=["GET"])]
