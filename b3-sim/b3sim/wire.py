"""b3-sim's messages on the wire (docs/internals.md): NewOrder and CancelOrder from
`b3.orders`, Quote from market data, ExecutionReport out on `broker.executions`."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from b3sim.book import OrderType, Side, TimeInForce
from b3sim.exchange import FILL, CancelOrder, ExecutionReport, NewOrder, ReferencePrice
from mybroker.events import CANCEL_ORDER, EXECUTION_REPORT, NEW_ORDER, QUOTE, Envelope, iso
from mybroker.money import format_money


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def exchange_command(message: Envelope) -> NewOrder | CancelOrder | None:
    """The command in a `b3.orders` message; None for a type this exchange does not know.
    A malformed message raises, so the bus retries and then dead-letters it."""
    data = message.data
    if message.type == NEW_ORDER:
        return NewOrder(
            order_id=str(data["orderId"]),
            ticker=str(data["ticker"]),
            side=Side(data["side"]),
            type=OrderType(data["type"]),
            time_in_force=TimeInForce(data.get("timeInForce") or "DAY"),
            quantity=int(data["quantity"]),
            limit_price=_decimal(data.get("limitPrice")),
            protection_price=_decimal(data.get("protectionPrice")),
        )
    if message.type == CANCEL_ORDER:
        return CancelOrder(order_id=str(data["orderId"]), ticker=str(data.get("ticker", "")))
    return None


def reference_price(message: Envelope) -> ReferencePrice | None:
    if message.type != QUOTE:
        return None
    return ReferencePrice(ticker=str(message.data["ticker"]), price=Decimal(str(message.data["price"])))


def report_envelope(report: ExecutionReport) -> Envelope:
    fill = report.exec_type == FILL
    return Envelope(
        EXECUTION_REPORT,
        {
            "orderId": report.order_id,
            "execType": report.exec_type,
            "executionId": report.execution_id if fill else None,
            "quantity": report.quantity if fill else None,
            "price": format_money(report.price) if fill and report.price is not None else None,
            "leavesQuantity": report.leaves_quantity,
            "cumulativeQuantity": report.cumulative_quantity,
            "reason": report.reason,
            "time": iso(report.time),
        },
    )
