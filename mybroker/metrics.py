"""Prometheus metrics of one service, served at its GET /metrics (mybroker.service.service_app).

Each service owns its registry, so the services of the embedded platform (one process)
never clash, and a service's page shows only its own counters. /metrics answers without
credentials, as the router's does: that is safe only because every metric is a count of
the service's own work with low-cardinality labels, never a user id, order id or amount.
Add nothing here that tells one trader's data."""
from __future__ import annotations

from typing import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter on this service's registry; Prometheus shows it as `<name>_total`."""
        return Counter(name, documentation, tuple(labels), registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
