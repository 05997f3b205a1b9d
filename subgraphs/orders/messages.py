"""The orders service's messages on the wire (docs/internals.md, "Channels and messages"):
NewOrder and CancelOrder to B3, ExecutionReport from it, OrderUpdated snapshots out."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from mybroker.events import CANCEL_ORDER, NEW_ORDER, ORDER_UPDATED, REPLACE_ORDER, Envelope, iso, parse_iso
from mybroker.money import format_money
from subgraphs.orders.domain import (
    ExecType,
    ExecutionReport,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    PendingRequest,
    RejectCode,
    TimeInForce,
)

_PENDING = {OrderStatus.PENDING_CANCEL: PendingRequest.CANCEL, OrderStatus.PENDING_REPLACE: PendingRequest.REPLACE}


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format_money(amount)


def _decimal(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def new_order(order: Order) -> Envelope:
    return Envelope(
        NEW_ORDER,
        {
            "orderId": order.id,
            "ticker": order.ticker,
            "side": order.side.value,
            "type": order.type.value,
            "timeInForce": order.time_in_force.value,
            "quantity": order.quantity,
            "limitPrice": _money(order.limit_price),
            "protectionPrice": _money(order.protection_price),
            # Who owns the order at the exchange: its self-trade prevention compares it.
            "account": order.user_id,
        },
    )


def cancel_order(order: Order) -> Envelope:
    return Envelope(CANCEL_ORDER, {"orderId": order.id, "ticker": order.ticker})


def replace_order(order: Order, quantity: int | None, limit_price: Decimal | None) -> Envelope:
    """New terms for a resting order (None: unchanged); B3 answers REPLACED or REPLACE_REJECTED."""
    return Envelope(
        REPLACE_ORDER, {"orderId": order.id, "ticker": order.ticker, "quantity": quantity, "limitPrice": _money(limit_price)}
    )


def order_updated(order: Order, last_fill: Fill | None = None) -> Envelope:
    return Envelope(
        ORDER_UPDATED,
        {
            "orderId": order.id,
            "userId": order.user_id,
            "ticker": order.ticker,
            "side": order.side.value,
            "type": order.type.value,
            "timeInForce": order.time_in_force.value,
            "quantity": order.quantity,
            "limitPrice": _money(order.limit_price),
            "filledQuantity": order.filled_quantity,
            "averagePrice": _money(order.average_price),
            "status": order.display_status.value,
            "rejectReason": order.reject_reason,
            "statusReason": order.reason,
            "lastFill": None
            if last_fill is None
            else {
                "executionId": last_fill.execution_id,
                "quantity": last_fill.quantity,
                "price": format_money(last_fill.price),
                "executedAt": iso(last_fill.executed_at),
            },
            "createdAt": iso(order.created_at),
            "updatedAt": iso(order.updated_at),
        },
    )


def order_from_snapshot(data: dict[str, Any]) -> Order:
    """An OrderUpdated snapshot as an Order, for live subscribers. The snapshot carries the
    average, not the fills' exact total, so the total is rebuilt from it (display only)."""
    filled = int(data["filledQuantity"])
    average = _decimal(data.get("averagePrice"))
    status = OrderStatus(data["status"])
    pending = _PENDING.get(status)
    if pending is not None:  # a request under way, beside the order's own state
        status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN
    return Order(
        id=data["orderId"],
        user_id=data["userId"],
        ticker=data["ticker"],
        side=OrderSide(data["side"]),
        type=OrderType(data["type"]),
        time_in_force=TimeInForce(data["timeInForce"]),
        quantity=int(data["quantity"]),
        limit_price=_decimal(data.get("limitPrice")),
        status=status,
        filled_quantity=filled,
        filled_value=(average or Decimal("0")) * filled,
        reason=data.get("statusReason", data.get("rejectReason")),
        pending=pending,
        created_at=parse_iso(data["createdAt"]),
        updated_at=parse_iso(data["updatedAt"]),
    )


def execution_report(data: dict[str, Any]) -> ExecutionReport:
    """Raises (KeyError/ValueError) on a malformed report: the bus retries, then dead-letters it."""
    quantity = data.get("quantity")
    return ExecutionReport(
        order_id=str(data["orderId"]),
        exec_type=ExecType(data["execType"]),
        time=parse_iso(data["time"]),
        execution_id=data.get("executionId"),
        quantity=None if quantity is None else int(quantity),
        price=_decimal(data.get("price")),
        reason=data.get("reason"),
        reject_code=None if data.get("rejectCode") is None else RejectCode(data["rejectCode"]),
        order_status=data.get("orderStatus"),
    )
