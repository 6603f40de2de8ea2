"""Prometheus metrics: requests by route and status, events ingested, commits, queue depth."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
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


class Metrics:
    def __init__(self, service: Callable[[], Footfall | None], routes: set[str]) -> None:
        self.registry = CollectorRegistry()
        self.routes = routes
        self.requests = Counter(
            "footfall_http_requests", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "footfall_http_request_seconds", "HTTP request latency", ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.up = Gauge("footfall_up", "1 while serving", registry=self.registry)
        self.up.set(1)
        self.registry.register(_CoreCollector(service))

    def observe(self, route: str, status: int, seconds: float) -> None:
        # Bound children are cached: `labels()` takes a lock and hashes on every call.
        key = (route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (
                self.requests.labels(route, str(status)), self.latency.labels(route)
            )
        child[0].inc()
        child[1].observe(seconds)

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
