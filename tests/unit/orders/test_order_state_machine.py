"""The order's life as B3 reports it: every allowed transition, and every refused one."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from subgraphs.orders.domain import (
    LIVE,
    TERMINAL,
    ExecType,
    ExecutionReport,
    InvalidTransition,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    ReservationTerms,
    TimeInForce,
)

T0 = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)


def new_order(quantity: int = 300) -> Order:
    request = OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, quantity, Decimal("31.40"), TimeInForce.DAY)
    return Order.place("o-1", "u-1", request, ReservationTerms(Decimal("31.40"), None), T0)


def report(kind: ExecType, *, qty: int | None = None, price: str | None = None, exec_id: str | None = None, reason=None, at=T0):
    return ExecutionReport("o-1", kind, at, execution_id=exec_id, quantity=qty, price=Decimal(price) if price else None, reason=reason)


def order_in(status: OrderStatus) -> Order:
    """An order brought to `status` through legal transitions only."""
    order = new_order()
    if status is OrderStatus.PENDING:
        return order
    if status is OrderStatus.REJECTED:
        order.apply(report(ExecType.REJECTED, reason="price band"))
        return order
    order.apply(report(ExecType.ACCEPTED))
    if status is OrderStatus.PARTIALLY_FILLED:
        order.apply(report(ExecType.FILL, qty=100, price="31.40", exec_id="x1"))
    elif status is OrderStatus.FILLED:
        order.apply(report(ExecType.FILL, qty=300, price="31.40", exec_id="x1"))
    elif status is OrderStatus.CANCELLED:
        order.apply(report(ExecType.CANCELLED, reason="by request"))
    elif status is OrderStatus.EXPIRED:
        order.apply(report(ExecType.EXPIRED, reason="session end"))
    assert order.status is status
    return order


def test_a_placed_order_is_pending_with_nothing_filled():
    order = new_order()
    assert order.status is OrderStatus.PENDING
    assert (order.filled_quantity, order.average_price, order.reject_reason) == (0, None, None)
    assert not order.is_terminal


def test_accepted_opens_a_pending_order():
    order = new_order()
    later = T0 + timedelta(seconds=1)
    order.apply(report(ExecType.ACCEPTED, at=later))
    assert order.status is OrderStatus.OPEN and order.updated_at == later


def test_fills_accumulate_quantity_and_a_volume_weighted_average():
    order = order_in(OrderStatus.OPEN)
    fill = order.apply(report(ExecType.FILL, qty=100, price="10.00", exec_id="a"))
    assert fill is not None and (fill.quantity, fill.price, fill.execution_id) == (100, Decimal("10.00"), "a")
    assert (order.status, order.filled_quantity, order.average_price) == (OrderStatus.PARTIALLY_FILLED, 100, Decimal("10.00"))
    order.apply(report(ExecType.FILL, qty=100, price="10.01", exec_id="b"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    # (1000.00 + 1001.00) / 200 = 10.005, to the cent (half-even) = 10.00
    assert order.average_price == Decimal("10.00") and order.filled_value == Decimal("2001.00")
    order.apply(report(ExecType.FILL, qty=100, price="10.05", exec_id="c"))
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 300
    # (2001.00 + 1005.00) / 300 = 10.02
    assert order.average_price == Decimal("10.02")
    assert order.is_terminal and order.leaves_quantity == 0


def test_one_fill_of_everything_goes_straight_from_open_to_filled():
    order = order_in(OrderStatus.OPEN)
    order.apply(report(ExecType.FILL, qty=300, price="31.39", exec_id="a"))
    assert order.status is OrderStatus.FILLED and order.average_price == Decimal("31.39")


@pytest.mark.parametrize("status", sorted(LIVE, key=lambda s: s.value))
@pytest.mark.parametrize("kind,ending", [(ExecType.CANCELLED, OrderStatus.CANCELLED), (ExecType.EXPIRED, OrderStatus.EXPIRED)])
def test_live_orders_can_be_cancelled_or_expire(status, kind, ending):
    order = order_in(status)
    filled = order.filled_quantity
    order.apply(report(kind, reason="why"))
    assert order.status is ending and order.reason == "why" and order.filled_quantity == filled
    assert order.reject_reason is None  # only a rejection has a reject reason


def test_a_pending_order_can_be_rejected_with_its_reason():
    order = new_order()
    order.apply(report(ExecType.REJECTED, reason="unknown ticker"))
    assert order.status is OrderStatus.REJECTED and order.reject_reason == "unknown ticker"


# B3's answers to a request (a refused cancel or replace, a status) change no state:
# after an end they are simply late, as a cancel that crossed a fill is.
ANSWERS = {ExecType.REPLACE_REJECTED, ExecType.CANCEL_REJECTED, ExecType.ORDER_STATUS}


@pytest.mark.parametrize("status", sorted(TERMINAL, key=lambda s: s.value))
@pytest.mark.parametrize("kind", sorted(ANSWERS, key=lambda k: k.value))
def test_terminal_orders_take_late_answers_without_change(status, kind):
    order = order_in(status)
    before = (order.status, order.filled_quantity, order.filled_value, order.reason, order.updated_at)
    order.apply(report(kind, reason="late", at=T0 + timedelta(hours=1)))
    assert (order.status, order.filled_quantity, order.filled_value, order.reason, order.updated_at) == before


@pytest.mark.parametrize("status", sorted(TERMINAL, key=lambda s: s.value))
@pytest.mark.parametrize("kind", [kind for kind in ExecType if kind not in ANSWERS])
def test_terminal_orders_refuse_every_report(status, kind):
    order = order_in(status)
    before = (order.status, order.filled_quantity, order.filled_value, order.reason, order.updated_at)
    with pytest.raises(InvalidTransition):
        order.apply(report(kind, qty=100, price="31.40", exec_id="late", reason="late", at=T0 + timedelta(hours=1)))
    assert (order.status, order.filled_quantity, order.filled_value, order.reason, order.updated_at) == before


@pytest.mark.parametrize(
    "status,kind",
    [
        (OrderStatus.PENDING, ExecType.FILL),  # B3 always accepts before it fills
        (OrderStatus.OPEN, ExecType.ACCEPTED),
        (OrderStatus.PARTIALLY_FILLED, ExecType.ACCEPTED),
        (OrderStatus.OPEN, ExecType.REJECTED),
        (OrderStatus.PARTIALLY_FILLED, ExecType.REJECTED),
    ],
)
def test_out_of_order_reports_are_refused(status, kind):
    order = order_in(status)
    with pytest.raises(InvalidTransition):
        order.apply(report(kind, qty=100, price="31.40", exec_id="z", reason="r"))
    assert order.status is status


def test_an_overfill_or_an_empty_fill_is_refused():
    order = order_in(OrderStatus.PARTIALLY_FILLED)
    for qty, price in ((201, "31.40"), (0, "31.40"), (100, "0")):
        with pytest.raises(InvalidTransition):
            order.apply(report(ExecType.FILL, qty=qty, price=price, exec_id="z"))
    with pytest.raises(InvalidTransition):
        order.apply(report(ExecType.FILL, qty=100, price=None, exec_id="z"))
    assert order.filled_quantity == 100 and order.status is OrderStatus.PARTIALLY_FILLED


def test_a_report_for_another_order_is_refused():
    order = order_in(OrderStatus.OPEN)
    with pytest.raises(InvalidTransition):
        order.apply(ExecutionReport("o-2", ExecType.CANCELLED, T0))
    assert order.status is OrderStatus.OPEN


def test_requesting_a_cancel_changes_no_status_and_is_refused_when_terminal():
    from mybroker.errors import DomainError, ErrorCode

    order = order_in(OrderStatus.OPEN)
    order.request_cancel(T0)
    assert order.status is OrderStatus.OPEN and order.cancel_requested_at == T0
    done = order_in(OrderStatus.FILLED)
    with pytest.raises(DomainError) as caught:
        done.request_cancel(T0)
    assert caught.value.code is ErrorCode.ORDER_NOT_CANCELLABLE
