"""Prometheus metrics: requests by route and status, events ingested, commits, queue depth."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from footfall.service import Footfall

__all__ = ["Metrics", "MetricsMiddleware"]


class _CoreCollector(Collector):
    """Reads the core's own counters at scrape time: nothing is counted twice on the hot path."""

    def __init__(self, service: Callable[[], Footfall | None]) -> None:
        self._service = service

    def collect(self) -> Any:
        svc = self._service()
        if svc is None or svc.committer is None:
            return
        stats = svc.committer.stats
        yield CounterMetricFamily(
            "footfall_wal_commits", "Group commits (one write + fdatasync each)", value=stats.commits
        )
        yield CounterMetricFamily(
            "footfall_wal_records", "Records made durable in the WAL", value=stats.records
        )
        yield CounterMetricFamily(
            "footfall_wal_commit_seconds", "Total time spent in WAL write+sync",
            value=stats.seconds_total,
        )
        yield GaugeMetricFamily(
            "footfall_commit_queue_depth", "Records waiting for a sync", value=svc.committer.depth
        )
        yield GaugeMetricFamily(
            "footfall_loader_lag", "Records synced but not yet in the store", value=svc.loader.lag
        )
        yield CounterMetricFamily(
            "footfall_events_stored", "Event rows inserted into the store", value=svc.loader.rows
        )
        yield GaugeMetricFamily(
            "footfall_store_healthy", "1 when the last store write succeeded",
            value=1 if svc.loader.healthy else 0,
        )
        yield GaugeMetricFamily(
            "footfall_control_plane_up",
            "1 while the control plane answers (0: serving cached answers)",
            value=1 if svc.meta.reachable else 0,
        )
        yield CounterMetricFamily(
            "footfall_control_plane_stale_answers",
            "Keys, projects, rules or limits served past their TTL while the control plane was away",
            value=svc.stale_answers(),
        )
        yield CounterMetricFamily(
            "footfall_shared_state_fallbacks",
            "Hot-state calls answered by this node's memory while Redis was away",
            value=svc.state.fallbacks(),
        )
        accepted = CounterMetricFamily(
            "footfall_events_accepted", "Events acknowledged durable, by dialect", labels=["dialect"]
        )
        for dialect, n in svc.accepted.items():
            accepted.add_metric([dialect], n)
        yield accepted
        edge = CounterMetricFamily(
            "footfall_edge_drops", "Events answered but not stored, by dialect and reason",
            labels=["dialect", "reason"],
        )
        for (dialect, reason), n in svc.edge_drops.items():
            edge.add_metric([dialect, reason], n)
        yield edge
        drops = CounterMetricFamily("footfall_pipeline_drops", "Events dropped", labels=["reason"])
        for reason, n in svc.pipeline.drops.items():
            drops.add_metric([reason], n)
        yield drops
        steps = CounterMetricFamily(
            "footfall_pipeline_step_seconds", "Time spent per pipeline step", labels=["step"]
        )
        for name, secs in svc.pipeline.step_seconds.items():
            steps.add_metric([name], secs)
        yield steps


_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
_LE = (*(repr(float(bound)) for bound in _LATENCY_BUCKETS), "+Inf")  # as prometheus_client writes them


class _HttpCollector(Collector):
    """Requests by route and status, and their latency, counted in plain dicts on the event
    loop and shaped as a prometheus_client Counter and Histogram would be only at scrape time:
    its children take a lock per update, three per request (#23)."""

    def __init__(self) -> None:
        self.created: dict[object, float] = {}
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, list[float]] = {}  # route -> per-bucket counts (+Inf last), sum

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        n = self.requests.get(key)
        if n is None:
            self.created[key] = time.time()
            n = 0
        self.requests[key] = n + 1
        counts = self.latency.get(route)
        if counts is None:
            self.created[route] = time.time()
            counts = self.latency[route] = [0.0] * (len(_LATENCY_BUCKETS) + 2)
        counts[bisect.bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Any:
        requests = Metric("footfall_http_requests", "HTTP requests", "counter")
        created = Metric("footfall_http_requests_created", "HTTP requests", "gauge")
        for (route, status), n in list(self.requests.items()):
            labels = {"route": route, "status": str(status)}
            requests.add_sample("footfall_http_requests_total", labels, float(n))
            created.add_sample("footfall_http_requests_created", labels, self.created[(route, status)])
        yield requests
        yield created
        name = "footfall_http_request_seconds"
        latency = Metric(name, "HTTP request latency", "histogram")
        latency_created = Metric(name + "_created", "HTTP request latency", "gauge")
        for route, counts in list(self.latency.items()):
            cumulative = 0.0
            for le, count in zip(_LE, counts, strict=False):  # counts ends with the sum
                cumulative += count
                latency.add_sample(name + "_bucket", {"route": route, "le": le}, cumulative)
            latency.add_sample(name + "_count", {"route": route}, cumulative)
            latency.add_sample(name + "_sum", {"route": route}, counts[-1])
            latency_created.add_sample(name + "_created", {"route": route}, self.created[route])
        yield latency
        yield latency_created


class Metrics:
    def __init__(self, service: Callable[[], Footfall | None], routes: set[str]) -> None:
        self.registry = CollectorRegistry()
        self.routes = routes
        self._http = _HttpCollector()
        self.observe = self._http.observe
        self.registry.register(self._http)
        self.up = Gauge("footfall_up", "1 while serving", registry=self.registry)
        self.up.set(1)
        self.registry.register(_CoreCollector(service))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = path if path in self.metrics.routes else "other"
        status = 500
        t0 = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe(route, status, time.perf_counter() - t0)
