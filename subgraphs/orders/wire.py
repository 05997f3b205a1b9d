"""The orders service's messages, mapped between its domain and the kernel's wire types
(mybroker.wire holds every encoding and decoding): NewOrder, CancelOrder, ReplaceOrder and
OrderStatusRequest to B3, OrderUpdated snapshots out. B3's ExecutionReport is the kernel's
type itself (subgraphs.orders.domain re-exports it)."""
from __future__ import annotations

from decimal import Decimal

from mybroker import wire
from mybroker.events import Envelope
from subgraphs.orders.domain import Fill, Order, OrderStatus, PendingRequest

_PENDING = {OrderStatus.PENDING_CANCEL: PendingRequest.CANCEL, OrderStatus.PENDING_REPLACE: PendingRequest.REPLACE}


def new_order(order: Order) -> Envelope:
    return wire.NewOrder(
        order_id=order.id,
        ticker=order.ticker,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        quantity=order.quantity,
        limit_price=order.limit_price,
        protection_price=order.protection_price,
        # Who owns the order at the exchange: its self-trade prevention compares it.
        account=order.user_id,
        stop_price=order.stop_price,
        # An OCO leg: B3 cancels the other leg on this one's first fill or trigger.
        oco_group=order.oco_group,
    ).envelope()


def cancel_order(order: Order) -> Envelope:
    return wire.CancelOrder(order.id, order.ticker).envelope()


def replace_order(order: Order, quantity: int | None, limit_price: Decimal | None) -> Envelope:
    """New terms for a resting order (None: unchanged); B3 answers REPLACED or REPLACE_REJECTED."""
    return wire.ReplaceOrder(order.id, order.ticker, quantity, limit_price).envelope()


def order_status_request(order_id: str, ticker: str) -> Envelope:
    return wire.OrderStatusRequest(order_id, ticker).envelope()


def last_fill(fill: Fill) -> wire.LastFill:
    return wire.LastFill(fill.execution_id, fill.quantity, fill.price, fill.executed_at)


def order_updated(order: Order, fill: Fill | None = None) -> Envelope:
    return wire.OrderUpdated(
        order_id=order.id,
        user_id=order.user_id,
        ticker=order.ticker,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        quantity=order.quantity,
        limit_price=order.limit_price,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        status=order.display_status.value,
        reject_reason=order.reject_reason,
        status_reason=order.reason,
        last_fill=None if fill is None else last_fill(fill),
        created_at=order.created_at,
        updated_at=order.updated_at,
        stop_price=order.stop_price,
        triggered_at=order.triggered_at,
    ).envelope()


def order_from_snapshot(update: wire.OrderUpdated) -> Order:
    """An OrderUpdated snapshot as an Order, for live subscribers. The snapshot carries the
    average, not the fills' exact total, so the total is rebuilt from it (display only)."""
    filled = update.filled_quantity
    status = OrderStatus(update.status)
    pending = _PENDING.get(status)
    if pending is not None:  # a request under way, beside the order's own state
        status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN
    return Order(
        id=update.order_id,
        user_id=update.user_id,
        ticker=update.ticker,
        side=update.side,
        type=update.type,
        time_in_force=update.time_in_force,
        quantity=update.quantity,
        limit_price=update.limit_price,
        status=status,
        filled_quantity=filled,
        filled_value=(update.average_price or Decimal("0")) * filled,
        reason=update.status_reason,
        pending=pending,
        stop_price=update.stop_price,
        triggered_at=update.triggered_at,
        created_at=update.created_at,
        updated_at=update.updated_at,
    )
