"""Prometheus metrics for the router, served at GET /metrics.

Each app owns its registry, so several routers in one process (tests, the embedded
platform) never clash. Labels are low-cardinality by design: operation kind, outcome,
error code, subgraph name; never operation names or user ids."""
from __future__ import annotations

from typing import Any, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

# Seconds; the router's own work is sub-millisecond, a subgraph fetch a few milliseconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Operation costs (router/cost.py): a quote is 1 to 3, the screen's pages tens to hundreds.
_COST_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000)


class RouterMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "router_requests", "GraphQL requests by operation kind and outcome (success, partial, error).",
            ("kind", "outcome"), registry=self.registry,
        )
        self.errors = Counter("router_errors", "GraphQL errors answered, by extensions.code.", ("code",), registry=self.registry)
        self.request_seconds = Histogram(
            "router_request_duration_seconds", "Time from request to response.", ("kind",), buckets=_BUCKETS, registry=self.registry
        )
        self.fetches = Counter("router_subgraph_fetches", "Requests sent to subgraphs.", ("subgraph",), registry=self.registry)
        self.fetch_errors = Counter(
            "router_subgraph_fetch_errors", "Subgraph requests that got no GraphQL response, or one with errors.",
            ("subgraph",), registry=self.registry,
        )
        self.fetch_seconds = Histogram(
            "router_subgraph_fetch_duration_seconds", "Time of one subgraph request.", ("subgraph",),
            buckets=_BUCKETS, registry=self.registry,
        )
        self.rate_limited = Counter(
            "router_rate_limited", "Operations refused with RATE_LIMITED, by the bucket that ran dry "
            "(ip, user, ip_total, ip_cost, user_cost: router/rate_limit.py).", ("scope",), registry=self.registry,
        )

        self.cost_estimated = Histogram(
            "router_operation_cost_estimated", "Estimated cost (router/cost.py) of the operations run.",
            buckets=_COST_BUCKETS, registry=self.registry,
        )
        self.cost_actual = Histogram(
            "router_operation_cost_actual", "Actual cost of the responses: the same weights over the real list lengths.",
            buckets=_COST_BUCKETS, registry=self.registry,
        )
        self.cost_refusals = Counter(
            "router_operation_cost_refusals", "Operations refused as too expensive, by caller (anonymous, signed_in).",
            ("caller",), registry=self.registry,
        )

    def observe_cost(self, estimated: int, actual: int) -> None:
        self.cost_estimated.observe(estimated)
        self.cost_actual.observe(actual)

    def observe_cost_refusal(self, signed_in: bool) -> None:
        self.cost_refusals.labels("signed_in" if signed_in else "anonymous").inc()

    def observe_request(self, kind: str | None, body: dict[str, Any], seconds: float | None) -> None:
        """`seconds` None: refused at the door, before the pipeline (counted, not timed)."""
        kind = kind or "unknown"
        errors = body.get("errors") or ()
        outcome = "success" if not errors else ("partial" if body.get("data") is not None else "error")
        self.requests.labels(kind, outcome).inc()
        if seconds is not None:
            self.request_seconds.labels(kind).observe(seconds)
        for code in _codes(errors):
            self.errors.labels(code).inc()

    def observe_fetch(self, subgraph: str, seconds: float, failed: bool) -> None:
        self.fetches.labels(subgraph).inc()
        self.fetch_seconds.labels(subgraph).observe(seconds)
        if failed:
            self.fetch_errors.labels(subgraph).inc()

    def observe_rate_limited(self, scope: str) -> None:
        self.rate_limited.labels(scope).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _codes(errors: Iterable[Any]) -> Iterable[str]:
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        yield code if isinstance(code, str) else "UNKNOWN"
