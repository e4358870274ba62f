"""Prometheus metrics of one app: requests per route, and run and worker gauges at scrape time.

Each app has its own CollectorRegistry, so a process (or a test session) may build many.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.domain.runs import RunStatus
from agentdeck.web.schemas import WorkerOut

UNMATCHED = "<unmatched>"


class Metrics:
    """The collectors of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "agentdeck_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "agentdeck_http_request_duration_seconds",
            "Time until the response starts (for streams: until the stream opens), by route.",
            ["method", "route"],
            registry=self.registry,
        )
        self.runs = Gauge("agentdeck_runs", "Runs by status.", ["status"], registry=self.registry)
        self.workers = Gauge(
            "agentdeck_workers", "Workers by status.", ["status"], registry=self.registry
        )
        self.workers_alive = Gauge(
            "agentdeck_workers_alive", "Workers whose heartbeat is recent.", registry=self.registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self, runs_by_status: dict[str, int], workers: list[WorkerOut]) -> bytes:
        """The exposition text, with the gauges set from the counts just read."""
        for run_status in RunStatus:
            self.runs.labels(run_status.value).set(runs_by_status.get(run_status.value, 0))
        for status in ("alive", "stopped", "lost"):
            self.workers.labels(status).set(sum(1 for w in workers if w.status == status))
        self.workers_alive.set(sum(1 for w in workers if w.status == "alive"))
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP request by its route template (never the raw path: ids would explode
    the label set) and times it until the response starts."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        recorded = False

        def record(status: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED) if isinstance(route, BaseRoute) else None
            self.metrics.observe(
                scope["method"], template or UNMATCHED, status, time.perf_counter() - started
            )

        async def send_and_count(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_and_count)
        except Exception:
            record(500)
            raise
