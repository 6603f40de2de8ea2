"""`/dashboard/p/{project}/{env}/attribution`: the six attribution models side by side,
conversion paths and time to convert. `?table=<models|paths|time>&format=csv` downloads a
table (every row, the same parameters)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.attribution import (
    BY,
    LOOKBACKS,
    MEASURES,
    MODEL_LABELS,
    AttributionState,
    flag_disagreement,
    parse_attribution_state,
    read_attribution,
)
from footfall.dashboard.csv_download import csv_download
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.state import PERIODS
from footfall.dashboard.web import page
from footfall.model import Scope
from footfall.read.queries import ATTRIBUTION_MODELS

__all__ = ["routes"]

TABLES = {
    "models": "/v1/attribution",
    "paths": "/v1/attribution/paths",
    "time": "/v1/attribution/time_to_convert",
}
# Time-to-convert buckets by their lower bound (store/answers.py TIME_BUCKETS).
BUCKET_LABELS = {
    0: "under 1 hour", 3600: "1 to 24 hours", 86400: "1 to 3 days", 3 * 86400: "3 to 7 days",
    7 * 86400: "7 to 14 days", 14 * 86400: "14 to 30 days", 30 * 86400: "30 days or more",
}


async def attribution(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    state = parse_attribution_state(request.query_params)
    svc = auth.service(request)
    scope = Scope(access.project.id, access.env)
    table = request.query_params.get("table")
    if request.query_params.get("format") == "csv" and table in TABLES and state.conversion:
        got = await read_attribution(svc, scope, access.project.timezone, state, only=TABLES[table])
        answer = {"models": got.models, "paths": got.paths, "time": got.time}[table]
        assert answer is not None
        if answer.data is None:
            headers = {"Retry-After": "5"} if answer.retryable else None
            status = 503 if answer.retryable else 400
            return page(request, "error.html", {"session": access.session, "message": answer.error}, status, headers)
        return _csv(table, state, answer.data)
    got = await read_attribution(svc, scope, access.project.timezone, state)
    models = got.models.data if got.models and got.models.data else None
    total = models["totals"][state.measure] if models else 0.0
    context = {
        **access.context(request),
        "state": state, "compared": got, "periods": PERIODS, "lookbacks": LOOKBACKS, "by": BY,
        "measures": MEASURES, "model_names": ATTRIBUTION_MODELS, "model_labels": MODEL_LABELS,
        "flags": flag_disagreement(models["rows"], state.measure, total) if models else {},
        "sums": _sums(models["rows"], state.measure) if models else {},
        "csv": {t: state.url() + f"&table={t}&format=csv" for t in TABLES},
        "bucket_labels": BUCKET_LABELS,
    }
    return page(request, "attribution.html", context)


def _sums(rows: list[dict[str, Any]], measure: str) -> dict[str, float]:
    """Each model's credits over the rows: they add up to the totals (the table shows both)."""
    return {m: round(sum(r[measure][m] for r in rows), 6) for m in ATTRIBUTION_MODELS}


def _csv(table: str, state: AttributionState, data: dict[str, Any]) -> Response:
    """The answer's rows (every one: `read_attribution(only=…)`), each made into its CSV line
    as the response streams, so no second copy of them is held."""
    name = f"attribution-{table}-{state.conversion}.csv"
    if table == "models":
        value = bool(state.value)
        header = [state.by, *(f"{m}_conversions" for m in ATTRIBUTION_MODELS)]
        header += [f"{m}_value" for m in ATTRIBUTION_MODELS] if value else []
        rows = (
            [r[state.by], *(r["conversions"][m] for m in ATTRIBUTION_MODELS),
             *((r["value"][m] for m in ATTRIBUTION_MODELS) if value else ()), r["disagreement"]]
            for r in data["rows"]
        )  # fmt: skip
        return csv_download(name, [*header, "disagreement"], rows)
    if table == "paths":
        return csv_download(
            name, ["path", "touchpoints", "conversions", "value", "share"],
            ([" > ".join(str(p) for p in r["path"]), r["touchpoints"], r["conversions"], r["value"], r["share"]]
             for r in data["rows"]),
        )  # fmt: skip
    return csv_download(
        name, ["from_seconds", "to_seconds", "conversions"],
        [[b["from_seconds"], b["to_seconds"], b["conversions"]] for b in data["buckets"]],
    )


routes = [Route("/dashboard/p/{project_id}/{env}/attribution", attribution, methods=["GET"])]
