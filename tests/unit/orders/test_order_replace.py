"""B3's REPLACED and REPLACE_REJECTED reports applied to an order, and the fractional
market's quantity rule."""
from __future__ import annotations

from datetime import timedelta
from dataclasses import replace
from decimal import Decimal

import pytest

from mybroker.errors import DomainError, ErrorCode
from subgraphs.orders.domain import ExecType, InvalidTransition, OrderStatus, check_lot
from mybroker.wire import ExecutionReport
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


def test_a_refused_replace_leaves_the_terms_and_says_why():
    order = order_in(OrderStatus.OPEN)
    order.request_replace(T0)
    assert order.display_status is OrderStatus.PENDING_REPLACE
    effect = order.money_effect(report(ExecType.REPLACE_REJECTED, reason="outside the price band"))
    assert effect.terms == (300, order.limit_price) and not effect.closed  # back from the cover
    order.apply(report(ExecType.REPLACE_REJECTED, reason="outside the price band"))
    assert (order.status, order.display_status, order.quantity) == (OrderStatus.OPEN, OrderStatus.OPEN, 300)
    assert order.reason == "The exchange refused the replace: outside the price band"


def test_a_replace_the_exchange_does_not_know_ends_the_order():
    from subgraphs.orders.domain import RejectCode

    order = order_in(OrderStatus.OPEN)
    order.request_replace(T0)
    refusal = replace(report(ExecType.REPLACE_REJECTED, reason="not resting"), reject_code=RejectCode.UNKNOWN_ORDER)
    assert order.money_effect(refusal).closed
    order.apply(refusal)
    assert order.status is OrderStatus.CANCELLED and "does not hold this order" in order.reason


def test_replace_reports_decode_from_the_wire():
    data = {"orderId": "o-1", "execType": "REPLACED", "quantity": 200, "price": "31.50", "leavesQuantity": 200,
            "cumulativeQuantity": 0, "time": "2026-11-24T13:00:00.000Z"}
    decoded = ExecutionReport.from_payload(data)
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
    # The reservation covered both terms while B3 decided, then took the new ones.
    assert harness.wallet.terms == [(placed.id, 300, Decimal("30.00")), (placed.id, 200, Decimal("29.50"))]


async def test_a_larger_replace_reserves_more_first_and_reads_pending_replace(harness):
    from mybroker.auth import Caller
    from subgraphs.orders.domain import ExecutionReport, OrderRequest, OrderSide, OrderType

    alice = Caller("alice")
    placed = await harness.service.place_order(alice, OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, 300, Decimal("30.00")))
    await harness.service.apply_execution("m1", ExecutionReport(placed.id, ExecType.ACCEPTED, T0))
    asked = await harness.service.replace_order(alice, placed.id, 500, Decimal("31.00"))
    assert asked.display_status is OrderStatus.PENDING_REPLACE
    assert harness.wallet.terms == [(placed.id, 500, Decimal("31.00"))]
    with pytest.raises(DomainError) as busy:  # one request at a time
        await harness.service.replace_order(alice, placed.id, 400, None)
    assert busy.value.code is ErrorCode.BAD_USER_INPUT
    await harness.service.apply_execution("m2", ExecutionReport(placed.id, ExecType.REPLACE_REJECTED, T0, reason="band"))
    stored = await harness.service.order(alice, placed.id)
    assert (stored.display_status, stored.quantity) == (OrderStatus.OPEN, 300)
    assert harness.wallet.terms[-1] == (placed.id, 300, Decimal("30.00"))  # back to the order's terms


@pytest.mark.parametrize(
    "quantity, price, code",
    [
        (4000, None, ErrorCode.INSUFFICIENT_FUNDS),  # more than the wallet can block
        (None, "500.00", ErrorCode.INSUFFICIENT_FUNDS),
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
    assert harness.wallet.reservations[placed.id].quantity == 300  # the reservation as it was
    assert (await harness.service.order(alice, placed.id)).display_status is OrderStatus.PENDING
    with pytest.raises(DomainError) as forbidden:
        await harness.service.replace_order(Caller("bob"), placed.id, 100, None)
    assert forbidden.value.code is ErrorCode.FORBIDDEN
