"""The request metrics, counted in plain dicts, read exactly as prometheus_client's own
Counter and Histogram would show the same observations."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from footfall.ops.metrics import _LATENCY_BUCKETS, Metrics


def _without_created_values(text: str) -> str:
    return re.sub(r"_created\{(.*)\} .*", r"_created{\1} T", text)


def test_exposition_matches_prometheus_client() -> None:
    reference = CollectorRegistry()
    requests = Counter("footfall_http_requests", "HTTP requests", ["route", "status"], registry=reference)
    latency = Histogram("footfall_http_request_seconds", "HTTP request latency", ["route"],
                        buckets=_LATENCY_BUCKETS, registry=reference)
    ours = Metrics(lambda: None, set())
    # on a bound, between bounds, past the last bound, and several routes and statuses
    seen = [("/v1/track", 202, 0.001), ("/v1/track", 202, 0.003), ("/v1/track", 400, 12.0),
            ("other", 404, 0.0004), ("/v1/batch", 202, 0.0025), ("/v1/track", 202, 0.0)]
    for route, status, seconds in seen:
        requests.labels(route, str(status)).inc()
        latency.labels(route).observe(seconds)
        ours.observe(route, status, seconds)
    expected = _without_created_values(generate_latest(reference).decode())
    got = _without_created_values(ours.render().decode())
    assert got.startswith(expected)
    assert 'footfall_http_requests_total{route="/v1/track",status="202"} 3.0' in got
    assert "footfall_up 1.0" in got[len(expected):]
