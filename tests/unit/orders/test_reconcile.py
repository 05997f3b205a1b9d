"""The reconciliation pass: a status request per live order through the outbox, and a
summary of B3's answers as apply_execution reports them to `status_listener` (called
here by hand, as B3 and apply_execution would)."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal

from mybroker.auth import Caller
from mybroker.db import utc_now
from mybroker.events import EXCHANGE_ORDERS, ORDER_STATUS_REQUEST
from subgraphs.orders.domain import ExecType, ExecutionReport, OrderRequest, OrderSide, OrderType
from subgraphs.orders.reconcile import Reconciler

ALICE = Caller("alice")
GRACE = 30.0


def buy(price="30.00", ticker="PETR4", qty=100) -> OrderRequest:
    return OrderRequest(ticker, OrderSide.BUY, OrderType.LIMIT, qty, Decimal(price))


async def report(service, order_id, kind, n, **kw):
    await service.apply_execution(f"{order_id}-{n}", ExecutionReport(order_id, kind, utc_now(), **kw))


async def status_requests(harness) -> list[tuple[str, str | None, dict]]:
    return [(channel, key, env.data) for channel, key, env in await harness.outbox() if env.type == ORDER_STATUS_REQUEST]


async def until_requested(harness, count: int) -> list[dict]:
    """Waits for the pass's requests to be committed (its readiness signal), as B3 would."""
    deadline = asyncio.get_running_loop().time() + 10
    while len(requests := await status_requests(harness)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"only {len(requests)} status requests"
        await asyncio.sleep(0.005)
    return [data for _c, _k, data in requests]


async def test_a_pass_asks_b3_about_every_live_order_through_the_outbox(harness):
    service = harness.service
    recent = await service.place_order(ALICE, buy("20.00"))
    opened = await service.place_order(ALICE, buy("21.00", ticker="KNRI11", qty=3))
    await report(service, opened.id, ExecType.ACCEPTED, 1)
    partly = await service.place_order(ALICE, buy("22.00", qty=300))
    await report(service, partly.id, ExecType.ACCEPTED, 1)
    await report(service, partly.id, ExecType.FILL, 2, execution_id="x-1", quantity=100, price=Decimal("22.00"))
    done = await service.place_order(ALICE, buy("23.00"))
    await report(service, done.id, ExecType.REJECTED, 1, reason="price band")

    reconciler = Reconciler(service, pending_grace=GRACE, reply_timeout=0)
    summary = await reconciler.run()
    # The recent PENDING order is not late yet; the rejected one is over.
    assert {data["orderId"] for data in await until_requested(harness, 2)} == {opened.id, partly.id}
    assert sorted(await status_requests(harness), key=lambda r: r[1]) == [
        (EXCHANGE_ORDERS, "KNRI11", {"orderId": opened.id, "ticker": "KNRI11"}),
        (EXCHANGE_ORDERS, "PETR4", {"orderId": partly.id, "ticker": "PETR4"}),
    ]
    assert summary.as_dict() == {"checked": 2, "resting": 0, "done": 0, "unknown": 0, "corrected": 0, "unanswered": 2}

    # Once older than the grace, a PENDING order is asked about too (its NewOrder may be lost).
    later = Reconciler(service, pending_grace=GRACE, reply_timeout=0, clock=lambda: utc_now() + timedelta(seconds=GRACE + 1))
    assert (await later.run()).checked == 3
    assert recent.id in {data["orderId"] for data in await until_requested(harness, 5)}


async def test_the_summary_counts_b3s_answers_and_corrections_are_logged_and_counted(harness, caplog):
    service = harness.service
    placed = [await service.place_order(ALICE, buy(f"{20 + i}.00")) for i in range(4)]
    for order in placed:
        await report(service, order.id, ExecType.ACCEPTED, 1)
    reconciler = Reconciler(service, pending_grace=GRACE, reply_timeout=30)

    async def b3_answers():
        await until_requested(harness, 4)
        resting, done, unknown, _silent = placed
        service.status_listener(resting.id, "RESTING", False)
        service.status_listener(done.id, "DONE", False)
        service.status_listener(unknown.id, "UNKNOWN", True)  # apply_execution ended it
        service.status_listener(unknown.id, "UNKNOWN", True)  # a redelivery counts once in the pass

    with caplog.at_level(logging.WARNING, logger="mybroker.orders.reconcile"):
        answering = asyncio.create_task(b3_answers())
        summary = await reconciler.run(wait=0.3)  # the fourth answer never comes
        await answering
    assert summary.as_dict() == {"checked": 4, "resting": 1, "done": 1, "unknown": 1, "corrected": 1, "unanswered": 1}
    assert f"the exchange does not hold order {placed[2].id}" in caplog.text
    metrics = service.metrics
    assert metrics.status_requests._value.get() == 4
    assert metrics.reconcile_corrections._value.get() == 2  # each correction apply_execution reported
    assert metrics.reconcile_unanswered._value.get() == 1 and metrics.reconcile_passes._value.get() == 1


async def test_a_pass_ends_as_soon_as_every_answer_is_in(harness):
    service = harness.service
    order = await service.place_order(ALICE, buy())
    await report(service, order.id, ExecType.ACCEPTED, 1)
    reconciler = Reconciler(service, reply_timeout=600)

    async def b3_answers():
        await until_requested(harness, 1)
        service.status_listener(order.id, "RESTING", False)

    answering = asyncio.create_task(b3_answers())
    summary = await asyncio.wait_for(reconciler.run(), timeout=30)  # far less than its 600 s
    await answering
    assert (summary.checked, summary.resting, summary.unanswered) == (1, 1, 0)


async def test_an_answer_outside_a_pass_still_counts_its_correction(harness):
    reconciler = Reconciler(harness.service)
    harness.service.status_listener("late-order", "UNKNOWN", True)
    harness.service.status_listener("other-order", "RESTING", False)
    assert harness.service.status_listener == reconciler.heard
    assert harness.service.metrics.reconcile_corrections._value.get() == 1


async def test_a_pass_pages_through_many_orders(harness):
    service = harness.service
    placed = [await service.place_order(ALICE, buy(f"{10 + i}.00")) for i in range(5)]
    for order in placed:
        await report(service, order.id, ExecType.ACCEPTED, 1)
    summary = await Reconciler(service, reply_timeout=0, batch=2).run()
    assert summary.checked == 5
    assert sorted(data["orderId"] for data in await until_requested(harness, 5)) == sorted(o.id for o in placed)


async def test_a_pass_with_nothing_live_sends_nothing(harness):
    summary = await Reconciler(harness.service, reply_timeout=600).run()
    assert summary.checked == 0 and await status_requests(harness) == []


async def test_the_periodic_pass_runs_every_interval_and_zero_turns_it_off(harness):
    off = Reconciler(harness.service, interval=0)
    await off.start()
    assert not off._loop.running

    reconciler = Reconciler(harness.service, interval=0.01, reply_timeout=0)
    await reconciler.start()
    deadline = asyncio.get_running_loop().time() + 10
    while harness.service.metrics.reconcile_passes._value.get() < 2:
        assert asyncio.get_running_loop().time() < deadline, "the periodic pass never ran"
        await asyncio.sleep(0.01)
    await reconciler.stop()
