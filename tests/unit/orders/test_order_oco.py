"""OCO at the broker (placeOcoOrder): a take-profit LIMIT and a stop-loss on one position,
validated to bracket the last price, sent to B3 as one ocoGroup, holding ONE reservation
(under the take-profit's id) that follows the surviving leg and is released once both legs
are done."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from mybroker.auth import Caller
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import NEW_ORDER
from subgraphs.orders.domain import (
    ExecType,
    ExecutionReport,
    OcoRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    check_oco,
)

ALICE = Caller("alice")
T1 = datetime(2026, 11, 24, 13, 5, tzinfo=timezone.utc)
LAST = Decimal("31.43")  # FakeAssets' PETR4


def oco(side=OrderSide.SELL, take="33.00", stop="30.00", stop_limit=None, qty=300, key=None, tif=TimeInForce.GTC) -> OcoRequest:
    return OcoRequest(
        "PETR4", side, qty, Decimal(take), Decimal(stop), None if stop_limit is None else Decimal(stop_limit), tif, key
    )


def refused(call) -> tuple[ErrorCode, str]:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code, caught.value.message


def report(order_id, kind, *, qty=None, price=None, exec_id=None, reason=None) -> ExecutionReport:
    return ExecutionReport(
        order_id, kind, T1, execution_id=exec_id, quantity=qty, price=None if price is None else Decimal(price), reason=reason
    )


# ---------------------------------------------------------------- the request


def test_the_pair_is_a_take_profit_limit_and_a_stop_or_stop_limit_of_one_quantity():
    take, stop = oco().legs()
    assert (take.type, take.limit_price, take.quantity) == (OrderType.LIMIT, Decimal("33.00"), 300)
    assert (stop.type, stop.stop_price, stop.limit_price, stop.quantity) == (OrderType.STOP, Decimal("30.00"), None, 300)
    _, stop_limit = oco(stop_limit="29.80").legs()
    assert (stop_limit.type, stop_limit.limit_price) == (OrderType.STOP_LIMIT, Decimal("29.80"))
    assert refused(lambda: oco(tif=TimeInForce.IOC).legs())[0] is ErrorCode.BAD_USER_INPUT
    assert refused(lambda: oco(stop="30.001").legs())[0] is ErrorCode.BAD_USER_INPUT


def test_a_sell_pair_brackets_the_last_price_take_profit_above_and_stop_below():
    check_oco(*oco().legs(), LAST)
    code, message = refused(lambda: check_oco(*oco(take="31.43").legs(), LAST))
    assert code is ErrorCode.BAD_USER_INPUT and "acima do último preço (R$ 31.43)" in message
    code, message = refused(lambda: check_oco(*oco(stop="31.43").legs(), LAST))
    assert code is ErrorCode.STOP_PRICE_WRONG_SIDE and "abaixo do último preço" in message


def test_a_buy_pair_is_the_reverse():
    check_oco(*oco(OrderSide.BUY, take="30.00", stop="33.00").legs(), LAST)
    code, message = refused(lambda: check_oco(*oco(OrderSide.BUY, take="32.00", stop="33.00").legs(), LAST))
    assert code is ErrorCode.BAD_USER_INPUT and "abaixo do último preço" in message
    code, _ = refused(lambda: check_oco(*oco(OrderSide.BUY, take="30.00", stop="31.00").legs(), LAST))
    assert code is ErrorCode.STOP_PRICE_WRONG_SIDE


# ---------------------------------------------------------------- the service


async def test_a_sell_pair_blocks_its_shares_once_and_goes_to_b3_as_one_group(harness):
    service, wallet = harness.service, harness.wallet
    take, stop = await service.place_oco_order(ALICE, oco(qty=300))  # alice holds 300 PETR4
    assert (take.oco_sibling_id, stop.oco_sibling_id) == (stop.id, take.id)
    assert wallet.reserve_calls == 1 and list(wallet.reservations) == [take.id]
    assert wallet.blocked_shares("PETR4") == 300  # once, not 600
    sent = {m[2].data["orderId"]: m[2].data for m in await harness.outbox() if m[2].type == NEW_ORDER}
    assert sent[take.id]["ocoGroup"] == sent[stop.id]["ocoGroup"] == take.id
    assert (sent[take.id]["type"], sent[stop.id]["type"], sent[stop.id]["stopPrice"]) == ("LIMIT", "STOP", "30.00")
    stored = await service.order(ALICE, stop.id)
    assert stored is not None and stored.oco_sibling_id == take.id


async def test_a_buy_pair_blocks_the_larger_of_its_legs_prices(harness):
    service, wallet = harness.service, harness.wallet
    # take-profit at 30.00; the STOP at 33.00 blocks as a MARKET BUY there: 33.00 x 1.05.
    await service.place_oco_order(ALICE, oco(OrderSide.BUY, take="30.00", stop="33.00", qty=100))
    assert wallet.blocked_cash() == Decimal("34.65") * 100


async def test_a_refused_pair_places_nothing(harness):
    with pytest.raises(DomainError) as caught:
        await harness.service.place_oco_order(ALICE, oco(qty=400))  # 300 held
    assert caught.value.code is ErrorCode.INSUFFICIENT_POSITION
    with pytest.raises(DomainError) as caught:
        await harness.service.place_oco_order(ALICE, oco(stop="32.00"))
    assert caught.value.code is ErrorCode.STOP_PRICE_WRONG_SIDE
    assert harness.wallet.reservations == {} and await harness.outbox() == []


async def test_a_client_order_id_answers_the_same_pair_and_refuses_other_terms(harness):
    service = harness.service
    first = await service.place_oco_order(ALICE, oco(key="exit-1"))
    again = await service.place_oco_order(ALICE, oco(key="exit-1"))
    assert [o.id for o in again] == [o.id for o in first] and harness.wallet.reserve_calls == 1
    with pytest.raises(DomainError) as caught:
        await service.place_oco_order(ALICE, oco(key="exit-1", take="34.00"))
    assert caught.value.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID


async def test_a_take_profit_fill_settles_the_pairs_reservation_and_releases_it_when_both_are_done(harness):
    service, wallet = harness.service, harness.wallet
    take, stop = await service.place_oco_order(ALICE, oco(qty=300))
    for leg in (take, stop):
        await service.apply_execution(f"a-{leg.id}", report(leg.id, ExecType.ACCEPTED))
    await service.apply_execution("f1", report(take.id, ExecType.FILL, qty=300, price="33.00", exec_id="t1"))
    assert wallet.settlements == [(take.id, "t1", False)]
    assert take.id in wallet.reservations  # the stop-loss is not known done yet
    await service.apply_execution("c1", report(stop.id, ExecType.CANCELLED, reason="OCO: o outro lado executou"))
    assert wallet.settlements[-1] == (take.id, None, True) and wallet.reservations == {}
    cancelled = await service.order(ALICE, stop.id)
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED and cancelled.reason.startswith("OCO")


async def test_a_triggered_stop_loss_keeps_the_reservation_until_it_fills(harness):
    service, wallet = harness.service, harness.wallet
    take, stop = await service.place_oco_order(ALICE, oco(qty=300))
    for leg in (take, stop):
        await service.apply_execution(f"a-{leg.id}", report(leg.id, ExecType.ACCEPTED))
    await service.apply_execution("t", report(stop.id, ExecType.TRIGGERED, price="29.99"))
    await service.apply_execution("c", report(take.id, ExecType.CANCELLED, reason="OCO"))
    assert wallet.blocked_shares("PETR4") == 300  # follows the surviving stop-loss
    await service.apply_execution("f", report(stop.id, ExecType.FILL, qty=300, price="29.98", exec_id="t9"))
    assert wallet.settlements[-2:] == [(take.id, "t9", False), (take.id, None, True)]
    assert wallet.reservations == {}


async def test_a_trader_cancel_of_one_leg_releases_everything_once_b3_cancels_both(harness):
    service, wallet = harness.service, harness.wallet
    take, stop = await service.place_oco_order(ALICE, oco(qty=300))
    for leg in (take, stop):
        await service.apply_execution(f"a-{leg.id}", report(leg.id, ExecType.ACCEPTED))
    await service.cancel_order(ALICE, stop.id)
    await service.apply_execution("c1", report(stop.id, ExecType.CANCELLED, reason="cancelled on request"))
    assert wallet.blocked_shares("PETR4") == 300  # the take-profit's CANCELLED is still to come
    await service.apply_execution("c2", report(take.id, ExecType.CANCELLED, reason="OCO: cancelled with its sibling"))
    assert wallet.reservations == {} and wallet.blocked_shares("PETR4") == 0


async def test_an_oco_leg_cannot_be_replaced(harness):
    service = harness.service
    take, _ = await service.place_oco_order(ALICE, oco(qty=300))
    await service.apply_execution("a", report(take.id, ExecType.ACCEPTED))
    with pytest.raises(DomainError) as caught:
        await service.replace_order(ALICE, take.id, None, Decimal("34.00"))
    assert caught.value.code is ErrorCode.BAD_USER_INPUT and "OCO" in caught.value.message


async def test_a_crash_before_the_pairs_release_is_finished_by_the_reports_redelivery(harness):
    service, wallet = harness.service, harness.wallet
    take, stop = await service.place_oco_order(ALICE, oco(qty=300))
    for leg in (take, stop):
        await service.apply_execution(f"a-{leg.id}", report(leg.id, ExecType.ACCEPTED))
    await service.apply_execution("f1", report(take.id, ExecType.FILL, qty=300, price="33.00", exec_id="t1"))
    settle = wallet.settle

    async def crash(order_id, fill, closed):  # the process dies as it releases the pair
        raise RuntimeError("orders died")

    wallet.settle = crash
    cancelled = report(stop.id, ExecType.CANCELLED, reason="OCO")
    with pytest.raises(RuntimeError):
        await service.apply_execution("c1", cancelled)
    assert (await service.order(ALICE, stop.id)).status is OrderStatus.CANCELLED and take.id in wallet.reservations
    wallet.settle = settle
    await service.apply_execution("c1", cancelled)  # the bus redelivers the unacknowledged report
    assert wallet.reservations == {}
