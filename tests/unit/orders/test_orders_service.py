"""The orders use cases on SQLite, with fake assets and wallet services."""
from __future__ import annotations

import asyncio

import logging
from datetime import datetime, timezone
from dataclasses import replace
from decimal import Decimal

import pytest

from mybroker.auth import ANONYMOUS, Caller
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import CANCEL_ORDER, EXCHANGE_ORDERS, NEW_ORDER, ORDER_EVENTS, ORDER_UPDATED
from mybroker.money import cents_up
from subgraphs.orders import repository
from subgraphs.orders.domain import (
    ExecType,
    ExecutionReport,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

ALICE, BOB = Caller("alice"), Caller("bob")
T1 = datetime(2026, 11, 24, 13, 5, tzinfo=timezone.utc)


def buy_limit(qty=100, price="30.00", ticker="PETR4", **kw) -> OrderRequest:
    return OrderRequest(ticker, OrderSide.BUY, OrderType.LIMIT, qty, Decimal(price), **kw)


def market(side=OrderSide.BUY, qty=100, ticker="PETR4", **kw) -> OrderRequest:
    return OrderRequest(ticker, side, OrderType.MARKET, qty, **kw)


async def code_of(awaitable) -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        await awaitable
    return caught.value.code


def report(order_id, kind, *, qty=None, price=None, exec_id=None, reason=None) -> ExecutionReport:
    return ExecutionReport(order_id, kind, T1, execution_id=exec_id, quantity=qty, price=Decimal(price) if price else None, reason=reason)


# ---------------------------------------------------------------- placeOrder


async def test_a_limit_buy_reserves_its_value_and_sends_the_order_to_b3(harness):
    order = await harness.service.place_order(ALICE, buy_limit(qty=200, price="30.50", time_in_force=TimeInForce.GTC))
    assert order.status is OrderStatus.PENDING and order.user_id == "alice"
    reservation = harness.wallet.reservations[order.id]
    assert (reservation.side, reservation.quantity, reservation.price_per_share) == ("BUY", 200, Decimal("30.50"))
    assert harness.wallet.blocked_cash() == Decimal("6100.00")

    messages = await harness.outbox()
    assert [(channel, key, env.type) for channel, key, env in messages] == [
        (EXCHANGE_ORDERS, "PETR4", NEW_ORDER),
        (ORDER_EVENTS, order.id, ORDER_UPDATED),
    ]
    assert messages[0][2].data == {
        "orderId": order.id,
        "ticker": "PETR4",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": 200,
        "limitPrice": "30.50",
        "protectionPrice": None,
        "account": "alice",  # the exchange's self-trade prevention compares it
    }
    snapshot = messages[1][2].data
    assert (snapshot["userId"], snapshot["status"], snapshot["filledQuantity"], snapshot["lastFill"]) == ("alice", "PENDING", 0, None)
    stored = await harness.service.order(ALICE, order.id)
    assert stored == order


async def test_a_market_buy_is_protected_at_the_reserved_price(harness):
    order = await harness.service.place_order(ALICE, market(qty=300))
    expected = cents_up(harness.assets.assets["PETR4"].last_price * (1 + harness.service.collar))
    assert harness.wallet.reservations[order.id].price_per_share == expected
    assert order.protection_price == expected and order.limit_price is None
    new_order = (await harness.outbox())[0][2].data
    assert new_order["protectionPrice"] == f"{expected}" and new_order["limitPrice"] is None


async def test_a_sell_blocks_shares_and_a_market_sell_gets_a_floor(harness):
    order = await harness.service.place_order(ALICE, market(OrderSide.SELL, qty=300))
    assert harness.wallet.blocked_shares("PETR4") == 300
    assert order.protection_price == Decimal("29.86")  # 31.43 x 0.95, to the cent
    assert await code_of(harness.service.place_order(ALICE, market(OrderSide.SELL, qty=100))) is ErrorCode.INSUFFICIENT_POSITION


@pytest.mark.parametrize(
    "request_,code",
    [
        (buy_limit(qty=150), ErrorCode.BAD_USER_INPUT),  # not a round lot of 100
        (buy_limit(qty=0), ErrorCode.BAD_USER_INPUT),
        (market(ticker="NEWB3"), ErrorCode.BAD_USER_INPUT),  # no market price yet
        (market(ticker="XXXX3"), ErrorCode.UNKNOWN_ASSET),
        (market(ticker="GONE3"), ErrorCode.UNKNOWN_ASSET),  # listed but inactive
        (buy_limit(qty=100_000, price="31.00"), ErrorCode.INSUFFICIENT_FUNDS),
    ],
)
async def test_refused_orders_change_nothing(harness, request_, code):
    assert await code_of(harness.service.place_order(ALICE, request_)) is code
    assert harness.wallet.reservations == {} and await harness.outbox() == []
    assert await harness.service.orders(ALICE) == []


async def test_an_anonymous_caller_cannot_place(harness):
    assert await code_of(harness.service.place_order(ANONYMOUS, buy_limit())) is ErrorCode.UNAUTHENTICATED
    assert harness.assets.lookups == []


async def test_fractional_lots_of_one_are_fine(harness):
    order = await harness.service.place_order(ALICE, buy_limit(qty=7, price="160.00", ticker="KNRI11"))
    assert order.quantity == 7


async def test_the_same_client_order_id_returns_the_first_order(harness):
    first = await harness.service.place_order(ALICE, buy_limit(client_order_id="k-1"))
    again = await harness.service.place_order(ALICE, buy_limit(client_order_id="k-1"))
    assert again.id == first.id and again.quantity == 100
    assert list(harness.wallet.reservations) == [first.id] and harness.wallet.reserve_calls == 1
    assert len([m for m in await harness.outbox() if m[2].type == NEW_ORDER]) == 1
    # The key is per user.
    bobs = await harness.service.place_order(BOB, buy_limit(client_order_id="k-1"))
    assert bobs.id != first.id


async def test_when_storing_fails_the_reservation_is_released_and_the_id_closed(harness, monkeypatch):
    original = repository.add
    calls = []

    async def broken_once(session, order):
        calls.append(order.id)
        if len(calls) == 1:
            raise RuntimeError("disk full")
        await original(session, order)

    monkeypatch.setattr(repository, "add", broken_once)
    with pytest.raises(RuntimeError):
        await harness.service.place_order(ALICE, buy_limit())
    # Nothing reached B3; the order id is closed as lost (so nothing can store it late),
    # and only then was the reservation released.
    [order_id] = harness.wallet.released
    assert harness.wallet.reservations == {} and calls == [order_id, order_id]
    assert [m[2].type for m in await harness.outbox()] == [ORDER_UPDATED]
    lost = await harness.service.order(ALICE, order_id)
    assert lost.status is OrderStatus.REJECTED and "lost this order" in lost.reject_reason
    assert (lost.type, lost.limit_price, lost.quantity) == (OrderType.LIMIT, Decimal("30.00"), 100)


async def test_when_the_wallet_call_breaks_the_reservation_is_released_too(harness, monkeypatch):
    async def timeout(reservation):
        harness.wallet.reservations[reservation.order_id] = reservation  # it did block, then the answer was lost
        raise TimeoutError

    monkeypatch.setattr(harness.wallet, "reserve", timeout)
    with pytest.raises(TimeoutError):
        await harness.service.place_order(ALICE, buy_limit())
    assert harness.wallet.reservations == {} and await harness.outbox() == []


# ---------------------------------------------------------------- cancelOrder


async def test_cancel_asks_b3_and_leaves_the_status_to_its_report(harness):
    order = await harness.service.place_order(ALICE, buy_limit())
    cancelled = await harness.service.cancel_order(ALICE, order.id)
    assert cancelled.id == order.id and cancelled.status is OrderStatus.PENDING and cancelled.cancel_requested_at
    assert cancelled.display_status is OrderStatus.PENDING_CANCEL
    channel, key, envelope = (await harness.outbox())[-2]
    assert (channel, key, envelope.type, envelope.data) == (EXCHANGE_ORDERS, "PETR4", CANCEL_ORDER, {"orderId": order.id, "ticker": "PETR4"})
    assert (await harness.outbox())[-1][2].data["status"] == "PENDING_CANCEL"  # live subscribers see it


async def test_a_second_cancel_while_one_is_under_way_sends_nothing(harness):
    order = await harness.service.place_order(ALICE, buy_limit())
    await harness.service.cancel_order(ALICE, order.id)
    before = len(await harness.outbox())
    again = await asyncio.gather(*(harness.service.cancel_order(ALICE, order.id) for _ in range(20)))
    assert {o.display_status for o in again} == {OrderStatus.PENDING_CANCEL}
    assert len(await harness.outbox()) == before


async def test_a_cancel_the_exchange_does_not_know_ends_the_order_and_frees_its_money(harness):
    from subgraphs.orders.domain import RejectCode

    order = await harness.service.place_order(ALICE, buy_limit())
    await harness.service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    await harness.service.cancel_order(ALICE, order.id)
    refusal = replace(report(order.id, ExecType.CANCEL_REJECTED, reason="not resting"), reject_code=RejectCode.UNKNOWN_ORDER)
    ended = await harness.service.apply_execution("m2", refusal)
    assert ended.status is OrderStatus.CANCELLED and "does not hold this order" in ended.reason
    assert harness.wallet.settlements[-1] == (order.id, None, True)  # released before the order ended


async def test_a_cancel_that_crossed_a_fill_ends_the_request_only(harness):
    from subgraphs.orders.domain import RejectCode

    order = await harness.service.place_order(ALICE, buy_limit(qty=200))
    await harness.service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    await harness.service.apply_execution("m2", report(order.id, ExecType.FILL, qty=100, price="30.00", exec_id="x1"))
    await harness.service.cancel_order(ALICE, order.id)
    refusal = replace(report(order.id, ExecType.CANCEL_REJECTED, reason="filled"), reject_code=RejectCode.TOO_LATE)
    after = await harness.service.apply_execution("m3", refusal)
    assert (after.display_status, after.reason) == (OrderStatus.PARTIALLY_FILLED, "The exchange refused the cancel: filled")
    assert harness.wallet.settlements[-1] == (order.id, "x1", False)  # nothing released


async def test_cancel_is_refused_for_others_unknown_terminal_and_anonymous(harness):
    order = await harness.service.place_order(ALICE, buy_limit())
    assert await code_of(harness.service.cancel_order(BOB, order.id)) is ErrorCode.FORBIDDEN
    assert await code_of(harness.service.cancel_order(ALICE, "no-such-order")) is ErrorCode.BAD_USER_INPUT
    assert await code_of(harness.service.cancel_order(ANONYMOUS, order.id)) is ErrorCode.UNAUTHENTICATED
    await harness.service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    await harness.service.apply_execution("m2", report(order.id, ExecType.CANCELLED, reason="by request"))
    before = len(await harness.outbox())
    assert await code_of(harness.service.cancel_order(ALICE, order.id)) is ErrorCode.ORDER_NOT_CANCELLABLE
    assert len(await harness.outbox()) == before


# ---------------------------------------------------------------- execution reports


async def test_reports_move_the_order_and_publish_snapshots(harness):
    service = harness.service
    order = await service.place_order(ALICE, buy_limit(qty=300, price="31.50"))
    await service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    partly = await service.apply_execution("m2", report(order.id, ExecType.FILL, qty=100, price="31.42", exec_id="t1-A"))
    assert (partly.status, partly.filled_quantity, partly.average_price) == (OrderStatus.PARTIALLY_FILLED, 100, Decimal("31.42"))
    done = await service.apply_execution("m3", report(order.id, ExecType.FILL, qty=200, price="31.45", exec_id="t2-A"))
    assert done.status is OrderStatus.FILLED
    assert done.average_price == ((Decimal("31.42") * 100 + Decimal("31.45") * 200) / 300).quantize(Decimal("0.01"))

    stored = await service.order(ALICE, order.id)
    assert (stored.status, stored.filled_quantity, stored.filled_value) == (OrderStatus.FILLED, 300, Decimal("9432.00"))
    [fills] = await service.fills([order.id])
    assert [(f.execution_id, f.quantity, f.price) for f in fills] == [("t1-A", 100, Decimal("31.42")), ("t2-A", 200, Decimal("31.45"))]

    snapshots = [env.data for channel, _key, env in await harness.outbox() if channel == ORDER_EVENTS]
    assert [s["status"] for s in snapshots] == ["PENDING", "OPEN", "PARTIALLY_FILLED", "FILLED"]
    assert snapshots[2]["lastFill"] == {"executionId": "t1-A", "quantity": 100, "price": "31.42", "executedAt": "2026-11-24T13:05:00.000Z"}
    assert snapshots[1]["lastFill"] is None and snapshots[3]["averagePrice"] == f"{done.average_price}"


async def test_a_redelivered_report_is_applied_once(harness):
    service = harness.service
    order = await service.place_order(ALICE, buy_limit(qty=300))
    await service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    fill = report(order.id, ExecType.FILL, qty=100, price="30.00", exec_id="t1-A")
    assert await service.apply_execution("m2", fill) is not None
    before = await harness.outbox()
    assert await service.apply_execution("m2", fill) is None  # same envelope
    assert await service.apply_execution("m2-resent", fill) is None  # same execution, new envelope
    assert await harness.outbox() == before
    stored = await service.order(ALICE, order.id)
    assert stored.filled_quantity == 100 and len((await service.fills([order.id]))[0]) == 1


async def test_a_report_for_a_terminal_or_unknown_order_is_logged_and_dropped(harness, caplog):
    service = harness.service
    order = await service.place_order(ALICE, buy_limit())
    await service.apply_execution("m1", report(order.id, ExecType.ACCEPTED))
    await service.apply_execution("m2", report(order.id, ExecType.CANCELLED, reason="by request"))
    before = await harness.outbox()
    with caplog.at_level(logging.WARNING, logger="mybroker.orders"):
        assert await service.apply_execution("m3", report(order.id, ExecType.FILL, qty=100, price="30.00", exec_id="late")) is None
        assert await service.apply_execution("m4", report("ghost", ExecType.ACCEPTED)) is None
    assert "not allowed when CANCELLED" in caplog.text and "unknown order ghost" in caplog.text
    assert await harness.outbox() == before
    stored = await service.order(ALICE, order.id)
    assert stored.status is OrderStatus.CANCELLED and stored.filled_quantity == 0
    # The dropped report is remembered: redelivering it is a no-op without a new warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mybroker.orders"):
        await service.apply_execution("m3", report(order.id, ExecType.FILL, qty=100, price="30.00", exec_id="late"))
    assert caplog.text == ""


async def test_a_rejection_keeps_its_reason(harness):
    order = await harness.service.place_order(ALICE, buy_limit())
    rejected = await harness.service.apply_execution("m1", report(order.id, ExecType.REJECTED, reason="price band"))
    assert rejected.status is OrderStatus.REJECTED and rejected.reject_reason == "price band"
    snapshot = (await harness.outbox())[-1][2].data
    assert (snapshot["status"], snapshot["rejectReason"]) == ("REJECTED", "price band")


# ---------------------------------------------------------------- reading


async def test_orders_are_listed_newest_first_per_user_with_a_status_filter(harness):
    service = harness.service
    placed = [await service.place_order(ALICE, buy_limit(price=f"{20 + i}.00")) for i in range(4)]
    await service.place_order(BOB, buy_limit())
    await service.apply_execution("m1", report(placed[1].id, ExecType.REJECTED, reason="x"))

    assert [o.id for o in await service.orders(ALICE)] == [o.id for o in reversed(placed)]
    assert [o.id for o in await service.orders(ALICE, first=2)] == [placed[3].id, placed[2].id]
    assert [o.id for o in await service.orders(ALICE, OrderStatus.REJECTED)] == [placed[1].id]
    assert await service.orders(ALICE, first=0) == []
    assert await code_of(service.orders(ALICE, first=-1)) is ErrorCode.BAD_USER_INPUT
    assert await code_of(service.orders(ANONYMOUS)) is ErrorCode.UNAUTHENTICATED
    assert len(await service.orders_of(BOB, "bob")) == 1
    assert await code_of(service.orders_of(BOB, "alice")) is ErrorCode.FORBIDDEN


async def test_an_order_is_visible_to_its_owner_only(harness):
    order = await harness.service.place_order(ALICE, buy_limit())
    assert (await harness.service.order(ALICE, order.id)).id == order.id
    assert await harness.service.order(BOB, order.id) is None
    assert await harness.service.order(ALICE, "missing") is None
    assert await code_of(harness.service.order(ANONYMOUS, order.id)) is ErrorCode.UNAUTHENTICATED
