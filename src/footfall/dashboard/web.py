"""Rendering: one Jinja2 environment, one way to answer a page, the security headers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from footfall.dashboard.state import zone

__all__ = [
    "CSP",
    "STATIC",
    "chart_svg",
    "country_name",
    "environment",
    "page",
    "secure_headers",
    "streamed_page",
    "world",
]

NONE = "\u2013"  # an en dash for a missing figure

STATIC = Path(str(resources.files("footfall.dashboard") / "static"))
# No inline script, no third-party anything: every script, style, image and connection comes
# from this server. Data for scripts travels in <script type="application/json">, which CSP
# does not execute. `style-src-attr 'none'`: bars and the map are drawn with SVG attributes.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # pages hold a person's analytics and a CSRF token
}


@functools.cache
def environment(streaming: bool = False) -> jinja2.Environment:
    """Templates; `streaming` renders asynchronously, awaiting the parts a page streams."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("footfall.dashboard", "templates"),
        autoescape=True,  # event names, URLs and referrers are attacker-controlled
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=streaming,
    )
    env.filters["number"] = format_number
    env.filters["percent"] = format_percent
    env.filters["ratio"] = lambda v: NONE if v is None else f"{v:.2f}"
    env.filters["duration"] = format_duration
    env.filters["tojson_script"] = _json_for_script
    env.filters["chart_svg"] = chart_svg
    env.filters["map_levels"] = map_levels
    env.filters["urlpath"] = url_path
    env.filters["country"] = country_name
    env.filters["localtime"] = local_time
    return env


def url_path(url: str | None) -> str:
    """The path of an event's URL, for a row that stored none of its own. A URL a sender made
    up may not split (`https://[pk/x`: "Invalid IPv6 URL"); it shows as sent.

    >>> url_path("https://shop.example/a/b?c=1"), url_path("https://[pk/x"), url_path(None)
    ('/a/b', 'https://[pk/x', '')
    """
    if not url:
        return ""
    try:
        return urlsplit(url).path
    except ValueError:
        return url


def format_number(value: float | int | None) -> str:
    """Compact counts for the KPI strip and tables.

    >>> format_number(950), format_number(1234), format_number(2_500_000), format_number(None)
    ('950', '1.2k', '2.5M', '\\u2013')
    """
    if value is None:
        return NONE
    v = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= limit:
            return f"{v / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{v:.2f}".rstrip("0").rstrip(".") if v % 1 else str(int(v))


def local_time(iso: str | None, tz: str) -> str:
    """A stored UTC time as wall-clock time in the project's zone.

    >>> local_time("2026-07-01T22:30:05.123456Z", "Europe/Berlin"), local_time(None, "UTC")
    ('2026-07-02 00:30:05', '\u2013')
    """
    if not iso:
        return NONE
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M:%S")


def format_percent(value: float | None) -> str:
    """
    >>> format_percent(0.4567), format_percent(None)
    ('45.7%', '\\u2013')
    """
    return NONE if value is None else f"{value * 100:.1f}%"


def format_duration(seconds: float | None) -> str:
    """
    >>> format_duration(75), format_duration(3725), format_duration(605000), format_duration(None)
    ('1m 15s', '1h 2m', '7d 0h', '\\u2013')
    """
    if seconds is None:
        return NONE
    s = round(seconds)
    if s >= 86400:
        return f"{s // 86400}d {s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 60}m {s % 60}s" if s >= 60 else f"{s}s"


def chart_svg(chart: dict[str, Any], width: int = 1000, height: int = 240) -> dict[str, Any]:
    """Polyline points of both series for the chart drawn without JavaScript.

    >>> chart_svg({"current": [0, 2, 4], "previous": [4, 0, 0]}, 100, 10)["current"]
    '0,10 50,5 100,0'
    """
    series = {k: [float(v) for v in chart.get(k) or []] for k in ("current", "previous")}
    top = max((v for values in series.values() for v in values), default=0.0) or 1.0
    out: dict[str, Any] = {"max": top if any(series.values()) else 0}
    for key, values in series.items():
        step = width / max(len(values) - 1, 1)
        out[key] = " ".join(
            f"{i * step:g},{height - v / top * height:g}" for i, v in enumerate(values)
        )
    return out


def map_levels(rows: list[Any]) -> dict[str, tuple[int, float]]:
    """Country code → (shade 1-4 by share of the top country, value), for the map's CSS classes."""
    return {
        str(r.labels[0]).upper(): (max(1, math.ceil(r.share * 4)), r.value)
        for r in rows
        if r.labels and r.labels[0]
    }


def _json_for_script(value: Any) -> str:
    """JSON safe inside <script type="application/json">: no `</script>` or `<!--` can close it."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def secure_headers(response: Response) -> Response:
    for name, value in _HEADERS.items():
        response.headers[name] = value
    return response


def page(
    request: Request, template: str, context: dict[str, Any], status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    html = environment().get_template(template).render(request=request, **context)
    return secure_headers(HTMLResponse(html, status, headers=headers))


def streamed_page(
    request: Request, template: str, context: dict[str, Any], on_close: Callable[[], None]
) -> Response:
    """A page sent as it renders: what is ready goes out at once (the browser paints it), the
    rest follows as the template's awaits resolve."""
    chunks = environment(streaming=True).get_template(template).generate_async(request=request, **context)
    body = _coalesce(chunks, on_close)
    return secure_headers(StreamingResponse(body, media_type="text/html; charset=utf-8"))


async def _coalesce(chunks: AsyncGenerator[str], on_close: Callable[[], None]) -> AsyncIterator[bytes]:
    """Join the template's many small pieces; send whenever the next one is not ready yet."""
    buffer: list[str] = []
    pending = asyncio.ensure_future(anext(chunks))
    try:
        while True:
            await asyncio.sleep(0)  # let a piece that needs no waiting finish first
            if buffer and not pending.done():
                yield "".join(buffer).encode()
                buffer = []
            try:
                buffer.append(await pending)
            except StopAsyncIteration:
                break
            pending = asyncio.ensure_future(anext(chunks))
    finally:  # also when the browser went away mid-page: stop the reads nobody will see
        pending.cancel()
        on_close()
        with contextlib.suppress(RuntimeError):  # still running in the cancelled `pending`
            await chunks.aclose()
    if buffer:
        yield "".join(buffer).encode()


@functools.cache
def world() -> dict[str, Any]:
    """Country outlines as SVG paths by ISO alpha-2 (scripts/vendor_dashboard.py)."""
    data: dict[str, Any] = json.loads(
        (resources.files("footfall.dashboard") / "data" / "world.json").read_text()
    )
    return data


@functools.cache
def _country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 → English name (i18n-iso-countries, scripts/vendor_dashboard.py)."""
    names: dict[str, str] = json.loads(
        (resources.files("footfall.dashboard") / "data" / "country_names.json").read_text()
    )
    return names


def country_name(code: str | None) -> str:
    """
    >>> country_name("de"), country_name("SG"), country_name("XX"), country_name(None)
    ('Germany', 'Singapore', 'XX', '(none)')
    """
    if not code:
        return "(none)"
    return _country_names().get(code.upper(), code)
