"""Stop orders at the broker: what a STOP / STOP_LIMIT request needs (a stopPrice on the
tick, on the far side of the last price, DAY or GTC), the reservation held from the start
(a STOP BUY as a MARKET BUY at its trigger, collar included; a STOP SELL the shares), B3's
TRIGGERED in the state machine, and a cancel that releases the reservation."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from mybroker.auth import Caller
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import EXCHANGE_ORDERS, NEW_ORDER
from mybroker.money import cents, cents_up
from subgraphs.orders.domain import (
    ExecType,
    ExecutionReport,
    Fill,
    InvalidTransition,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    check_stop,
    reservation_terms,
)
from subgraphs.orders import wire
from tests.unit.orders.conftest import COLLAR

ALICE = Caller("alice")
T0 = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 11, 24, 13, 5, tzinfo=timezone.utc)
LAST = Decimal("31.43")  # FakeAssets' PETR4


def stop(side=OrderSide.SELL, price="30.00", kind=OrderType.STOP, limit=None, qty=100, tif=TimeInForce.GTC) -> OrderRequest:
    return OrderRequest("PETR4", side, kind, qty, None if limit is None else Decimal(limit), tif, None, Decimal(price))


def code(call) -> tuple[ErrorCode, str]:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code, caught.value.message


def report(order_id, kind, *, qty=None, price=None, exec_id=None, at=T1) -> ExecutionReport:
    return ExecutionReport(order_id, kind, at, execution_id=exec_id, quantity=qty, price=None if price is None else Decimal(price))


# ---------------------------------------------------------------- the request


def test_a_stop_needs_a_stop_price_on_the_tick_and_a_time_in_force_that_waits():
    assert stop().validated().stop_price == Decimal("30.00")
    assert code(lambda: OrderRequest("PETR4", OrderSide.SELL, OrderType.STOP, 100).validated())[0] is ErrorCode.BAD_USER_INPUT
    off_tick = code(lambda: stop(price="30.005").validated())
    assert off_tick[0] is ErrorCode.BAD_USER_INPUT and "tick de R$ 0,01" in off_tick[1]
    assert code(lambda: stop(price="0").validated())[0] is ErrorCode.BAD_USER_INPUT
    assert "DAY ou GTC" in code(lambda: stop(tif=TimeInForce.IOC).validated())[1]
    # STOP_LIMIT needs its limit; STOP takes none; other types take no stopPrice.
    assert code(lambda: stop(kind=OrderType.STOP_LIMIT).validated())[0] is ErrorCode.BAD_USER_INPUT
    assert code(lambda: stop(limit="29.90").validated())[0] is ErrorCode.BAD_USER_INPUT
    assert stop(kind=OrderType.STOP_LIMIT, limit="29.90").validated().limit_price == Decimal("29.90")
    stray = OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, 100, Decimal("30"), stop_price=Decimal("29"))
    assert "stopPrice" in code(lambda: stray.validated())[1]


def test_a_stop_price_on_the_wrong_side_of_the_last_price_is_refused_with_its_own_code():
    check_stop(stop(OrderSide.SELL, "31.42"), LAST)  # a stop-loss below the market
    check_stop(stop(OrderSide.BUY, "31.44"), LAST)  # a stop entry above it
    for side, price in ((OrderSide.SELL, "31.43"), (OrderSide.SELL, "32.00"), (OrderSide.BUY, "31.43"), (OrderSide.BUY, "30.00")):
        error, message = code(lambda side=side, price=price: check_stop(stop(side, price), LAST))
        assert error is ErrorCode.STOP_PRICE_WRONG_SIDE and "último preço (R$ 31.43)" in message
    assert code(lambda: check_stop(stop(), None))[0] is ErrorCode.BAD_USER_INPUT  # no market price yet


def test_a_stop_reserves_from_the_start_as_the_order_it_becomes():
    buy = reservation_terms(stop(OrderSide.BUY, "32.00").validated(), LAST, COLLAR)
    # As a MARKET BUY at its trigger price: the collar above it, not above today's price.
    assert buy.price_per_share == buy.protection_price == cents_up(Decimal("32.00") * (1 + COLLAR)) == Decimal("33.60")
    sell = reservation_terms(stop(OrderSide.SELL, "30.00").validated(), LAST, COLLAR)
    assert sell.protection_price == cents(Decimal("30.00") * (1 - COLLAR))
    limit = reservation_terms(stop(OrderSide.BUY, "32.00", OrderType.STOP_LIMIT, "32.10").validated(), LAST, COLLAR)
    assert (limit.price_per_share, limit.protection_price) == (Decimal("32.10"), None)


# ---------------------------------------------------------------- the state machine


def placed(request: OrderRequest) -> Order:
    request = request.validated()
    return Order.place("o1", "alice", request, reservation_terms(request, LAST, COLLAR), T0)


def test_a_stop_is_open_while_it_waits_and_fills_only_once_triggered():
    order = placed(stop(OrderSide.BUY, "32.00"))
    order.apply(report("o1", ExecType.ACCEPTED))
    assert (order.status, order.triggered_at) == (OrderStatus.OPEN, None)
    with pytest.raises(InvalidTransition):
        order.fill(Fill("x1", 100, Decimal("32.00"), T1))
    order.apply(report("o1", ExecType.TRIGGERED, price="32.00"))
    assert (order.status, order.triggered_at) == (OrderStatus.OPEN, T1)
    with pytest.raises(InvalidTransition):  # once only
        order.apply(report("o1", ExecType.TRIGGERED, price="32.01"))
    order.apply(report("o1", ExecType.FILL, qty=100, price="32.02", exec_id="x1"))
    assert order.status is OrderStatus.FILLED
    assert order.reserved_price == Decimal("33.60")  # a STOP BUY's reservation: its protection


def test_a_trigger_moves_no_money_and_a_limit_order_cannot_trigger():
    order = placed(stop())
    order.apply(report("o1", ExecType.ACCEPTED))
    effect = order.money_effect(report("o1", ExecType.TRIGGERED, price="29.99"))
    assert (effect.fill, effect.terms, effect.closed) == (None, None, False)
    limit = placed(OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, 100, Decimal("30")))
    limit.apply(report("o1", ExecType.ACCEPTED))
    with pytest.raises(InvalidTransition):
        limit.apply(report("o1", ExecType.TRIGGERED, price="30"))


def test_a_stop_travels_to_b3_and_to_subscribers_with_its_trigger():
    order = placed(stop(kind=OrderType.STOP_LIMIT, limit="29.90"))
    assert wire.new_order(order).data["stopPrice"] == "30.00"
    order.apply(report("o1", ExecType.ACCEPTED))
    order.apply(report("o1", ExecType.TRIGGERED, price="30.00"))
    snapshot = wire.order_updated(order)
    assert (snapshot.data["stopPrice"], snapshot.data["triggeredAt"]) == ("30.00", "2026-11-24T13:05:00.000Z")
    from mybroker.wire import OrderUpdated

    back = wire.order_from_snapshot(OrderUpdated.of(snapshot))
    assert (back.stop_price, back.triggered_at, back.type) == (Decimal("30.00"), T1, OrderType.STOP_LIMIT)


# ---------------------------------------------------------------- the service


async def test_a_stop_buy_blocks_cash_at_its_trigger_and_a_cancel_releases_it(harness):
    service, wallet = harness.service, harness.wallet
    order = await service.place_order(ALICE, stop(OrderSide.BUY, "32.00", qty=200))
    assert (order.type, order.stop_price, order.protection_price) == (OrderType.STOP, Decimal("32.00"), Decimal("33.60"))
    assert wallet.blocked_cash() == Decimal("33.60") * 200
    [(channel, _, sent)] = [m for m in await harness.outbox() if m[2].type == NEW_ORDER]
    assert channel == EXCHANGE_ORDERS
    assert (sent.data["type"], sent.data["stopPrice"], sent.data["protectionPrice"]) == ("STOP", "32.00", "33.60")
    stored = await service.order(ALICE, order.id)
    assert (stored.stop_price, stored.triggered_at) == (Decimal("32.00"), None)

    await service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    await service.cancel_order(ALICE, order.id)
    assert wallet.blocked_cash() == Decimal("33.60") * 200  # until B3 says it is cancelled
    await service.apply_execution("m2", ExecutionReport(order.id, ExecType.CANCELLED, T1, 0, 0, reason="cancelled on request"))
    assert wallet.blocked_cash() == 0 and (await service.order(ALICE, order.id)).status is OrderStatus.CANCELLED


async def test_a_stop_sell_blocks_the_shares_and_a_triggered_one_is_stored_so(harness):
    service, wallet = harness.service, harness.wallet
    order = await service.place_order(ALICE, stop(OrderSide.SELL, "30.00", qty=300))
    assert wallet.blocked_shares("PETR4") == 300
    with pytest.raises(DomainError) as refused:  # the shares are held by the stop
        await service.place_order(ALICE, OrderRequest("PETR4", OrderSide.SELL, OrderType.MARKET, 100))
    assert refused.value.code is ErrorCode.INSUFFICIENT_POSITION
    await service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    await service.apply_execution("m2", report(order.id, ExecType.TRIGGERED, price="29.98"))
    assert (await service.order(ALICE, order.id)).triggered_at == T1
    await service.apply_execution("m3", report(order.id, ExecType.FILL, qty=300, price="29.97", exec_id="t1"))
    assert (await service.order(ALICE, order.id)).status is OrderStatus.FILLED


async def test_a_stop_on_the_wrong_side_is_refused_and_blocks_nothing(harness):
    with pytest.raises(DomainError) as refused:
        await harness.service.place_order(ALICE, stop(OrderSide.SELL, "31.50"))
    assert refused.value.code is ErrorCode.STOP_PRICE_WRONG_SIDE
    assert harness.wallet.reservations == {} and await harness.outbox() == []
