"""B3's REPLACED and REPLACE_REJECTED reports applied to an order, and the fractional
market's quantity rule."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mybroker.errors import DomainError, ErrorCode
from subgraphs.orders.domain import ExecType, InvalidTransition, OrderStatus, check_lot
from subgraphs.orders.messages import execution_report
from tests.unit.orders.test_order_state_machine import T0, new_order, order_in, report


def test_a_replaced_report_changes_quantity_and_price_and_keeps_the_status():
    order = order_in(OrderStatus.PARTIALLY_FILLED)
    filled = order.filled_quantity
    later = T0 + timedelta(seconds=5)
    assert order.apply(report(ExecType.REPLACED, qty=filled + 100, price="31.10", at=later)) is None
    assert (order.quantity, order.limit_price, order.status) == (filled + 100, Decimal("31.10"), OrderStatus.PARTIALLY_FILLED)
    assert (order.leaves_quantity, order.updated_at) == (100, later)


def test_a_replace_keeps_the_price_when_none_is_reported_and_never_goes_below_the_fills():
    order = order_in(OrderStatus.OPEN)
    order.apply(report(ExecType.REPLACED, qty=200))
    assert (order.quantity, order.limit_price) == (200, Decimal("31.40"))
    partly = order_in(OrderStatus.PARTIALLY_FILLED)
    with pytest.raises(InvalidTransition):
        partly.apply(report(ExecType.REPLACED, qty=partly.filled_quantity))
    with pytest.raises(InvalidTransition):
        new_order().apply(report(ExecType.REPLACED, qty=100))  # PENDING: not at the book yet
    with pytest.raises(InvalidTransition):
        order_in(OrderStatus.FILLED).apply(report(ExecType.REPLACED, qty=500))


def test_a_refused_replace_leaves_the_order_as_it_was():
    order = order_in(OrderStatus.OPEN)
    with pytest.raises(InvalidTransition, match="unchanged"):
        order.apply(report(ExecType.REPLACE_REJECTED, reason="outside the price band"))
    assert (order.status, order.quantity) == (OrderStatus.OPEN, 300)


def test_replace_reports_decode_from_the_wire():
    data = {"orderId": "o-1", "execType": "REPLACED", "quantity": 200, "price": "31.50", "leavesQuantity": 200,
            "cumulativeQuantity": 0, "time": "2026-11-24T13:00:00.000Z"}
    decoded = execution_report(data)
    assert (decoded.exec_type, decoded.quantity, decoded.price) == (ExecType.REPLACED, 200, Decimal("31.50"))


def test_the_fractional_market_takes_fewer_shares_than_the_round_lot():
    check_lot(7, 1, 99)
    check_lot(99, 1, 99)
    check_lot(150, 1)  # no cap: an asset traded in lots of 1
    for quantity, lot, cap in ((100, 1, 99), (150, 1, 99), (150, 100, None)):
        with pytest.raises(DomainError) as refused:
            check_lot(quantity, lot, cap)
        assert refused.value.code is ErrorCode.BAD_USER_INPUT


# ---------------------------------------------------------------- the replaceOrder use case


async def test_a_replace_within_the_reservation_goes_to_b3_and_the_order_changes_on_its_report(harness):
    from mybroker.auth import Caller
    from mybroker.events import EXCHANGE_ORDERS, REPLACE_ORDER
    from subgraphs.orders.domain import ExecutionReport, OrderRequest, OrderSide, OrderType, TimeInForce

    alice = Caller("alice")
    placed = await harness.service.place_order(
        alice, OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, 300, Decimal("30.00"), TimeInForce.GTC)
    )
    await harness.service.apply_execution("m1", ExecutionReport(placed.id, ExecType.ACCEPTED, T0))
    asked = await harness.service.replace_order(alice, placed.id, 200, Decimal("29.5"))
    assert (asked.quantity, asked.limit_price) == (300, Decimal("30.00"))  # until B3 says so
    sent = [env for channel, _key, env in await harness.outbox() if channel == EXCHANGE_ORDERS and env.type == REPLACE_ORDER]
    assert [env.data for env in sent] == [{"orderId": placed.id, "ticker": "PETR4", "quantity": 200, "limitPrice": "29.50"}]

    replaced = await harness.service.apply_execution(
        "m2", ExecutionReport(placed.id, ExecType.REPLACED, T0, quantity=200, price=Decimal("29.50"))
    )
    assert (replaced.quantity, replaced.limit_price, replaced.status) == (200, Decimal("29.50"), OrderStatus.OPEN)
    stored = await harness.service.order(alice, placed.id)
    assert (stored.quantity, stored.limit_price, stored.leaves_quantity) == (200, Decimal("29.50"), 200)


@pytest.mark.parametrize(
    "quantity, price, code",
    [
        (400, None, ErrorCode.BAD_USER_INPUT),  # more than reserved
        (None, "30.01", ErrorCode.BAD_USER_INPUT),  # a BUY above its blocked limit
        (150, None, ErrorCode.BAD_USER_INPUT),  # off the round lot
        (None, "29.999", ErrorCode.BAD_USER_INPUT),
        (None, None, ErrorCode.BAD_USER_INPUT),
    ],
)
async def test_a_replace_beyond_the_reservation_or_the_lot_is_refused(harness, quantity, price, code):
    from mybroker.auth import Caller
    from subgraphs.orders.domain import OrderRequest, OrderSide, OrderType

    alice = Caller("alice")
    placed = await harness.service.place_order(alice, OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, 300, Decimal("30.00")))
    with pytest.raises(DomainError) as refused:
        await harness.service.replace_order(alice, placed.id, quantity, Decimal(price) if price else None)
    assert refused.value.code is code
    with pytest.raises(DomainError) as forbidden:
        await harness.service.replace_order(Caller("bob"), placed.id, 100, None)
    assert forbidden.value.code is ErrorCode.FORBIDDEN
