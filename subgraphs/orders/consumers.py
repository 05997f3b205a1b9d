"""Bus handlers: B3's execution reports (broker.executions, group "orders")."""
from __future__ import annotations

import logging

from mybroker.bus import Handler
from mybroker.events import EXECUTION_REPORT, Envelope
from mybroker.wire import ExecutionReport
from subgraphs.orders.service import OrderService

log = logging.getLogger("mybroker.orders")

GROUP = "orders"


def execution_reports(service: OrderService) -> Handler:
    async def handle(message: Envelope) -> None:
        if message.type != EXECUTION_REPORT:
            log.warning("unexpected %s message %s on the executions channel", message.type, message.id)
            return
        # Dedupe by envelope id happens inside apply_execution's transaction (the inbox).
        await service.apply_execution(message.id, ExecutionReport.of(message))

    return handle
