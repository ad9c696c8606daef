"""What the server reports about itself: /stats counters, Prometheus metrics, JSON logs.

Each app owns its own Prometheus registries, so several apps in one process
(tests, or an app embedding Headroom twice) never collide on metric names.
Counts are kept twice: for the whole process (the admin view) and per tenant,
so a tenant key reads its own traffic and never another tenant's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Observability", "RequestLogMiddleware", "TenantView", "log_event", "logger"]

StoreCounters = Callable[[], dict[str, int]]

logger = logging.getLogger("headroom.server")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """One log line as a JSON object, so log pipelines can index every field."""
    if logger.isEnabledFor(level):
        logger.log(
            level, json.dumps({"event": event, **fields}, default=str, separators=(",", ":"))
        )


class _StoreCollector(Collector):
    """Exposes the CCR store's failure and eviction counters to Prometheus."""

    def __init__(self, counters: StoreCounters) -> None:
        self.counters = counters

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "headroom_ccr_store_events", "CCR store failures and early evictions", labels=["event"]
        )
        for event, value in self.counters().items():
            family.add_metric([event], value)
        yield family


class TenantView:
    """Counters behind /stats and the Prometheus metrics behind /metrics, for one audience."""

    def __init__(self, store_counters: StoreCounters | None = None) -> None:
        self.started = time.time()
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {
            "total": 0,
            "compress": 0,
            "proxy": 0,
            "retrieve": 0,
            "bypassed": 0,
            "cached": 0,
            "rejected": 0,
            "failed": 0,
            "compression_failures": 0,
            "tokens_before": 0,
            "tokens_after": 0,
            "ccr_hits": 0,
            "ccr_misses": 0,
            "retrieve_calls_answered": 0,
        }
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "headroom_requests",
            "HTTP requests handled",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "headroom_request_duration_seconds",
            "Time to answer a request (for proxied calls: including the upstream)",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.tokens_before = Counter(
            "headroom_tokens_before", "Tokens received before compression", registry=self.registry
        )
        self.tokens_after = Counter(
            "headroom_tokens_after", "Tokens sent on after compression", registry=self.registry
        )
        self.tokens_saved = Counter(
            "headroom_tokens_saved", "Tokens removed by compression", registry=self.registry
        )
        self.ratio = Histogram(
            "headroom_compression_ratio",
            "Share of tokens removed per compressed request (0..1)",
            registry=self.registry,
            buckets=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
        )
        self.store_counters = store_counters or dict
        self.registry.register(_StoreCollector(self.store_counters))
        self.failures = Counter(
            "headroom_compression_failures",
            "Compressions that failed open (the original was sent)",
            registry=self.registry,
        )
        self.ccr = Counter(
            "headroom_ccr_retrievals",
            "CCR retrievals by outcome",
            ["result"],
            registry=self.registry,
        )

    def _add(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                self._counts[name] += delta

    def record_request(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)
        self._add(total=1, rejected=int(400 <= status < 500), failed=int(status >= 500))

    def record_compression(
        self, kind: str, tokens_before: int, tokens_after: int, failed_open: bool
    ) -> None:
        saved = max(0, tokens_before - tokens_after)
        self.tokens_before.inc(tokens_before)
        self.tokens_after.inc(tokens_after)
        self.tokens_saved.inc(saved)
        if tokens_before:
            self.ratio.observe(saved / tokens_before)
        if failed_open:
            self.failures.inc()
        self._add(
            **{kind: 1},
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            compression_failures=int(failed_open),
        )

    def record_cached(self) -> None:
        self._add(cached=1)

    def record_bypass(self) -> None:
        self._add(proxy=1, bypassed=1)

    def record_retrieval(self, found: bool, via_proxy: bool = False) -> None:
        self.ccr.labels(result="hit" if found else "miss").inc()
        self._add(
            retrieve=int(not via_proxy),
            ccr_hits=int(found),
            ccr_misses=int(not found),
            retrieve_calls_answered=int(via_proxy),
        )

    def snapshot(self, store_kind: str) -> dict[str, Any]:
        """The /stats document (this process only; aggregate replicas via /metrics)."""
        with self._lock:
            c = dict(self._counts)
        before, after = c["tokens_before"], c["tokens_after"]
        saved = max(0, before - after)
        return {
            "requests": {
                "total": c["total"],
                "compress": c["compress"],
                "proxy": c["proxy"],
                "retrieve": c["retrieve"],
                "bypassed": c["bypassed"],
                "cached": c["cached"],
                "rejected": c["rejected"],
                "failed": c["failed"],
            },
            "tokens": {
                "before": before,
                "after": after,
                "saved": saved,
                "savings_percent": round(100.0 * saved / before, 2) if before else 0.0,
            },
            "compression": {"failures": c["compression_failures"]},
            "ccr": {
                "store": store_kind,
                **self.store_counters(),
                "hits": c["ccr_hits"],
                "misses": c["ccr_misses"],
                "retrieve_calls_answered": c["retrieve_calls_answered"],
            },
            "uptime_seconds": round(time.time() - self.started, 3),
        }

    def prometheus(self) -> bytes:
        return bytes(generate_latest(self.registry))


class Observability:
    """The process-wide view and one view per tenant; each record goes to both."""

    def __init__(self, store_counters: StoreCounters | None = None) -> None:
        self.store_counters = store_counters or dict
        self.all = TenantView(self.store_counters)
        self._tenants: dict[str, TenantView] = {}
        self._lock = threading.Lock()

    def view(self, tenant: str | None) -> TenantView:
        """The counters one tenant sees (the global ones for None)."""
        if tenant is None:
            return self.all
        with self._lock:
            found = self._tenants.get(tenant)
            if found is None:
                found = self._tenants[tenant] = TenantView(self.store_counters)
            return found

    def _views(self, tenant: str | None) -> tuple[TenantView, ...]:
        return (self.all,) if tenant is None else (self.all, self.view(tenant))

    def record_request(
        self, route: str, status: int, seconds: float, tenant: str | None = None
    ) -> None:
        for v in self._views(tenant):
            v.record_request(route, status, seconds)

    def record_compression(
        self,
        kind: str,
        tokens_before: int,
        tokens_after: int,
        failed_open: bool,
        tenant: str | None = None,
    ) -> None:
        for v in self._views(tenant):
            v.record_compression(kind, tokens_before, tokens_after, failed_open)

    def record_bypass(self, tenant: str | None = None) -> None:
        for v in self._views(tenant):
            v.record_bypass()

    def record_cached(self, tenant: str | None = None) -> None:
        for v in self._views(tenant):
            v.record_cached()

    def record_retrieval(
        self, found: bool, via_proxy: bool = False, tenant: str | None = None
    ) -> None:
        for v in self._views(tenant):
            v.record_retrieval(found, via_proxy)

    def snapshot(self, store_kind: str, tenant: str | None = None) -> dict[str, Any]:
        """The /stats document of one tenant (or of the whole process for None)."""
        return self.view(tenant).snapshot(store_kind)

    def prometheus(self, tenant: str | None = None) -> bytes:
        return self.view(tenant).prometheus()


class RequestLogMiddleware:
    """Times every HTTP request, counts it by route template and status, logs it."""

    def __init__(self, app: ASGIApp, observability: Observability) -> None:
        self.app = app
        self.obs = observability

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            state = scope.get("state") or {}
            self.obs.record_request(template, status, elapsed, state.get("tenant_id"))
            log_event(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                tenant=state.get("tenant"),
                **state.get("log_fields", {}),
            )
