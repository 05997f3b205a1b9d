"""The orders service's counters, on the service's registry (GET /metrics; mybroker.metrics).
Counts only: no label carries a user, an order id or an amount."""
from __future__ import annotations

from mybroker.metrics import Metrics


class OrdersMetrics:
    def __init__(self, metrics: Metrics | None = None):
        self.metrics = metrics if metrics is not None else Metrics()
        counter = self.metrics.counter
        self.status_requests = counter(
            "mybroker_orders_status_requests", "OrderStatusRequest commands sent to the exchange by reconciliation."
        )
        self.reconcile_passes = counter("mybroker_orders_reconcile_passes", "Reconciliation passes run.")
        self.reconcile_corrections = counter(
            "mybroker_orders_reconcile_corrections",
            "Orders ended by reconciliation because the exchange does not hold them (their money released).",
        )
        self.reconcile_unanswered = counter(
            "mybroker_orders_reconcile_unanswered", "Status requests a reconciliation pass stopped waiting for."
        )
        self.reservation_checks = counter(
            "mybroker_orders_reservation_checks",
            "The wallet's questions about reservations past their grace, by answer (exists, absent).",
            ("answer",),
        )
        self.lost_placements = counter(
            "mybroker_orders_lost_placements",
            "Orders closed as lost while being placed (a reservation with no order behind it), so their money is released.",
        )
