"""placeOrder's idempotency: ids derived from clientOrderId, retries that reuse the first
reservation, DUPLICATE_CLIENT_ORDER_ID, races that never release the winner's money, and
the lost order that closes an id for good (orders' half of the orphan sweeper)."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy.exc import OperationalError

from mybroker.auth import Caller
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import NEW_ORDER, ORDER_EVENTS
from subgraphs.orders import repository
from subgraphs.orders.domain import OrderRequest, OrderSide, OrderStatus, OrderType, TimeInForce
from subgraphs.orders.idempotency import LOST_REASON, HeldReservation, order_id_for
from subgraphs.orders.orphans import Presence

ALICE, BOB = Caller("alice"), Caller("bob")


def buy_limit(qty=100, price="30.00", ticker="PETR4", **kw) -> OrderRequest:
    return OrderRequest(ticker, OrderSide.BUY, OrderType.LIMIT, qty, Decimal(price), **kw)


async def code_of(awaitable) -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        await awaitable
    return caught.value.code


async def new_orders(harness) -> list[str]:
    return [env.data["orderId"] for _channel, _key, env in await harness.outbox() if env.type == NEW_ORDER]


def held(order_id: str, *, user="alice", side=OrderSide.BUY, ticker="PETR4", qty=100, price="30.00") -> HeldReservation:
    return HeldReservation(order_id, user, side, ticker, qty, Decimal(price), datetime(2026, 1, 5, 13, 0, tzinfo=timezone.utc))


# ---------------------------------------------------------------- derived ids


def test_the_order_id_is_derived_from_the_user_and_the_key():
    assert order_id_for("alice", "k-1") == order_id_for("alice", "k-1")
    assert len({order_id_for("alice", "k-1"), order_id_for("bob", "k-1"), order_id_for("alice", "k-2")}) == 3
    # The user id is length-prefixed: no two (user, key) pairs spell the same name.
    assert order_id_for("a:b", "c") != order_id_for("a", "b:c")


async def test_a_keyed_order_gets_the_derived_id_and_an_unkeyed_one_a_fresh_id(harness):
    keyed = await harness.service.place_order(ALICE, buy_limit(client_order_id="k-1"))
    assert keyed.id == order_id_for("alice", "k-1") and keyed.client_order_id == "k-1"
    plain = await harness.service.place_order(ALICE, buy_limit())
    assert plain.id not in (keyed.id, order_id_for("alice", ""))


@pytest.mark.parametrize(
    "changed",
    [
        dict(ticker="VALE3"),
        dict(side=OrderSide.SELL),
        dict(type=OrderType.MARKET, limit_price=None),
        dict(quantity=200),
        dict(limit_price=Decimal("29.99")),
        dict(time_in_force=TimeInForce.GTC),
    ],
)
async def test_the_same_key_with_other_terms_is_refused(harness, changed):
    harness.assets.assets["VALE3"] = replace(harness.assets.assets["PETR4"], ticker="VALE3")
    first = await harness.service.place_order(ALICE, buy_limit(client_order_id="k-1"))
    with pytest.raises(DomainError) as caught:
        await harness.service.place_order(ALICE, replace(buy_limit(client_order_id="k-1"), **changed))
    assert caught.value.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert "'k-1'" in caught.value.message and "other terms" in caught.value.message
    assert list(harness.wallet.reservations) == [first.id] and harness.wallet.released == []
    assert await new_orders(harness) == [first.id]


async def test_an_order_placed_before_ids_were_derived_is_found_by_its_key(harness):
    harness.service.new_id = lambda: "legacy-order-id"
    legacy = await harness.service.place_order(ALICE, buy_limit())
    async with harness.db.transaction() as tx:  # as an old version stored it: a random id with the key
        from sqlalchemy import update

        from subgraphs.orders.tables import orders

        await tx.session.execute(update(orders).where(orders.c.id == legacy.id).values(client_order_id="old-key"))
    again = await harness.service.place_order(ALICE, buy_limit(client_order_id="old-key"))
    assert again.id == "legacy-order-id" and await new_orders(harness) == ["legacy-order-id"]


# ---------------------------------------------------------------- retries


async def test_a_retry_after_a_failed_save_reuses_the_first_reservation(harness, monkeypatch):
    original = repository.add
    attempts = []

    async def fails_first(session, order):
        attempts.append(order.id)
        if len(attempts) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        await original(session, order)

    monkeypatch.setattr(repository, "add", fails_first)
    with pytest.raises(OperationalError):
        await harness.service.place_order(ALICE, buy_limit(client_order_id="k-retry"))
    order_id = order_id_for("alice", "k-retry")
    # Another attempt (or the retry) may be using this reservation: it stays.
    assert list(harness.wallet.reservations) == [order_id] and harness.wallet.released == []

    order = await harness.service.place_order(ALICE, buy_limit(client_order_id="k-retry"))
    assert order.id == order_id and harness.wallet.reserve_calls == 2
    assert list(harness.wallet.reservations) == [order_id] and harness.wallet.blocked_cash() == Decimal("3000.00")
    assert await new_orders(harness) == [order_id]


async def test_a_retry_after_the_wallet_timed_out_reuses_what_it_blocked(harness):
    calls = 0
    real_reserve = harness.wallet.reserve

    async def blocks_then_times_out(reservation):
        nonlocal calls
        calls += 1
        await real_reserve(reservation)
        if calls == 1:
            raise TimeoutError  # it did block; the answer was lost

    harness.wallet.reserve = blocks_then_times_out
    with pytest.raises(asyncio.TimeoutError):
        await harness.service.place_order(ALICE, buy_limit(client_order_id="k-slow"))
    assert harness.wallet.released == []
    order = await harness.service.place_order(ALICE, buy_limit(client_order_id="k-slow"))
    assert list(harness.wallet.reservations) == [order.id] and harness.wallet.blocked_cash() == Decimal("3000.00")


async def test_an_order_saved_although_its_commit_reported_failure_is_kept(harness, monkeypatch):
    """The commit happened but its answer was lost (a connection cut at COMMIT): the
    reservation must not be released under a stored order."""
    db = harness.service.db
    original = db.transaction

    @asynccontextmanager
    async def commits_then_fails():
        async with original() as tx:
            yield tx
        raise OperationalError("COMMIT", {}, Exception("lost connection"))

    monkeypatch.setattr(db, "transaction", commits_then_fails)
    order = await harness.service.place_order(ALICE, buy_limit())
    monkeypatch.setattr(db, "transaction", original)
    assert order.status is OrderStatus.PENDING
    assert (await harness.service.order(ALICE, order.id)).status is OrderStatus.PENDING
    assert list(harness.wallet.reservations) == [order.id] and harness.wallet.released == []


# ---------------------------------------------------------------- races


async def test_two_racing_attempts_make_one_order_and_never_release_its_money(harness):
    both_reserved = asyncio.Barrier(2)

    async def wait_for_the_other(_reservation):
        await both_reserved.wait()  # both looked the order up (none yet) and both reserved

    harness.wallet.after_reserve = wait_for_the_other
    first, second = await asyncio.gather(
        harness.service.place_order(ALICE, buy_limit(client_order_id="k-race")),
        harness.service.place_order(ALICE, buy_limit(client_order_id="k-race")),
    )
    assert first.id == second.id == order_id_for("alice", "k-race")
    assert list(harness.wallet.reservations) == [first.id] and harness.wallet.released == []
    assert await new_orders(harness) == [first.id]


async def test_a_racing_attempt_with_other_terms_is_refused_and_leaves_the_winner_whole(harness):
    first_reserved = asyncio.Event()

    async def hold_the_winner(_reservation):
        first_reserved.set()
        await asyncio.sleep(0)

    harness.wallet.after_reserve = hold_the_winner

    async def loser():
        await first_reserved.wait()
        return await harness.service.place_order(ALICE, buy_limit(qty=200, client_order_id="k-race"))

    results = await asyncio.gather(
        harness.service.place_order(ALICE, buy_limit(client_order_id="k-race")), loser(), return_exceptions=True
    )
    winner, refused = results
    assert isinstance(refused, DomainError) and refused.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID
    assert winner.quantity == 100 and harness.wallet.released == []
    assert harness.wallet.blocked_cash() == Decimal("3000.00") and await new_orders(harness) == [winner.id]


# ---------------------------------------------------------------- lost orders


async def test_the_check_answers_exists_for_a_stored_order(harness):
    order = await harness.service.place_order(ALICE, buy_limit())
    assert await harness.service.orphans.check(held(order.id)) is Presence.EXISTS
    assert (await harness.service.order(ALICE, order.id)).status is OrderStatus.PENDING


async def test_the_check_closes_a_missing_order_for_good(harness):
    orphan = order_id_for("alice", "never-saved")
    assert await harness.service.orphans.check(held(orphan, qty=300, price="31.00")) is Presence.ABSENT
    lost = await harness.service.order(ALICE, orphan)
    assert (lost.status, lost.reject_reason, lost.quantity, lost.side) == (OrderStatus.REJECTED, LOST_REASON, 300, OrderSide.BUY)
    assert lost.protection_price == Decimal("31.00")  # what the wallet blocked per share
    snapshot = [env.data for channel, _key, env in await harness.outbox() if channel == ORDER_EVENTS][-1]
    assert (snapshot["orderId"], snapshot["status"], snapshot["rejectReason"]) == (orphan, "REJECTED", LOST_REASON)
    # Asking again answers the same (a failed release is retried by the next sweep).
    assert await harness.service.orphans.check(held(orphan, qty=300, price="31.00")) is Presence.ABSENT
    assert len(await harness.outbox()) == 1
    assert await new_orders(harness) == []
    metrics = harness.service.metrics
    assert metrics.lost_placements._value.get() == 1
    assert metrics.reservation_checks.labels("absent")._value.get() == 2


async def test_a_save_that_comes_after_the_check_fails_and_says_why(harness):
    """The placement reserved, then stalled past the grace; the sweeper's check closed the
    id. Its late save must not commit an order whose money is being released."""
    order_id = order_id_for("alice", "k-late")

    async def the_sweeper_asks_meanwhile(reservation):
        assert await harness.service.orphans.check(held(reservation.order_id)) is Presence.ABSENT

    harness.wallet.after_reserve = the_sweeper_asks_meanwhile
    with pytest.raises(DomainError) as caught:
        await harness.service.place_order(ALICE, buy_limit(client_order_id="k-late", time_in_force=TimeInForce.GTC))
    assert caught.value.code is ErrorCode.INTERNAL_SERVER_ERROR and LOST_REASON in caught.value.message
    assert await new_orders(harness) == []  # nothing went to B3
    assert harness.wallet.released == []  # the sweeper releases, after its "absent"
    # The lost order now has the terms the placement asked for.
    lost = await harness.service.order(ALICE, order_id)
    assert (lost.status, lost.type, lost.limit_price, lost.time_in_force, lost.client_order_id) == (
        OrderStatus.REJECTED, OrderType.LIMIT, Decimal("30.00"), TimeInForce.GTC, "k-late"
    )

    # A retry with the key finds the order as it ended; other terms are still refused.
    harness.wallet.after_reserve = lambda _r: asyncio.sleep(0)
    again = await harness.service.place_order(ALICE, buy_limit(client_order_id="k-late", time_in_force=TimeInForce.GTC))
    assert (again.id, again.status, again.reject_reason) == (order_id, OrderStatus.REJECTED, LOST_REASON)
    assert await code_of(harness.service.place_order(ALICE, buy_limit(qty=200, client_order_id="k-late"))) is ErrorCode.DUPLICATE_CLIENT_ORDER_ID


async def test_a_retry_finds_an_order_the_sweeper_closed_and_completes_its_terms(harness):
    order_id = order_id_for("alice", "k-gone")
    # The first attempt died after reserving; the wallet's sweeper asked about it.
    assert await harness.service.orphans.check(held(order_id, ticker="PETR4", qty=7, price="31.50")) is Presence.ABSENT
    harness.assets.assets["PETR4F"] = replace(harness.assets.assets["PETR4"], ticker="PETR4F", lot_size=1, max_quantity=99)
    retry = await harness.service.place_order(ALICE, buy_limit(qty=7, price="31.50", ticker="PETR4F", client_order_id="k-gone"))
    assert (retry.id, retry.status, retry.ticker, retry.type, retry.limit_price) == (
        order_id, OrderStatus.REJECTED, "PETR4F", OrderType.LIMIT, Decimal("31.50")
    )
    assert retry.protection_price is None and harness.wallet.reserve_calls == 0
    assert await new_orders(harness) == []


async def test_concurrent_checks_and_saves_always_agree(harness):
    """Many placements, each checked by the sweeper at the same moment as its save: each
    id ends either stored (exists) or lost (absent), never both, never neither."""
    answers: dict[str, Presence] = {}

    async def the_sweeper_races_the_save(reservation):
        async def check():
            answers[reservation.order_id] = await harness.service.orphans.check(held(reservation.order_id))

        asyncio.get_running_loop().create_task(check())
        await asyncio.sleep(0)

    harness.wallet.after_reserve = the_sweeper_races_the_save
    results = await asyncio.gather(
        *(harness.service.place_order(ALICE, buy_limit(client_order_id=f"k-{i}")) for i in range(20)), return_exceptions=True
    )
    while len(answers) < 20:
        await asyncio.sleep(0.01)
    for i, result in enumerate(results):
        order_id = order_id_for("alice", f"k-{i}")
        stored = await harness.service.order(ALICE, order_id)
        if answers[order_id] is Presence.EXISTS:
            assert not isinstance(result, BaseException) and result.status is OrderStatus.PENDING
            assert stored.status is OrderStatus.PENDING
        else:
            assert isinstance(result, DomainError) and result.code is ErrorCode.INTERNAL_SERVER_ERROR
            assert stored.status is OrderStatus.REJECTED and stored.reject_reason == LOST_REASON
    sent = set(await new_orders(harness))
    assert sent == {order_id for order_id, answer in answers.items() if answer is Presence.EXISTS}


async def test_a_market_retry_after_the_price_moved_waits_for_the_first_attempt_to_settle(harness, monkeypatch):
    """A MARKET order reserves at the price of its moment: a retry after the first attempt
    died, once the price moved, cannot share its reservation. It is told to ask again; once
    the sweeper ended the first attempt, the retry finds it."""
    original = repository.add

    async def dies_first(session, order):
        monkeypatch.setattr(repository, "add", original)
        raise OperationalError("INSERT", {}, Exception("server has gone away"))

    monkeypatch.setattr(repository, "add", dies_first)
    market = OrderRequest("PETR4", OrderSide.BUY, OrderType.MARKET, 100, client_order_id="k-mkt")
    with pytest.raises(OperationalError):
        await harness.service.place_order(ALICE, market)
    order_id = order_id_for("alice", "k-mkt")
    assert order_id in harness.wallet.reservations

    harness.assets.assets["PETR4"] = replace(harness.assets.assets["PETR4"], last_price=Decimal("32.10"))
    with pytest.raises(DomainError) as caught:
        await harness.service.place_order(ALICE, market)
    assert caught.value.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID and "ask again in a minute" in caught.value.message
    assert list(harness.wallet.reservations) == [order_id] and harness.wallet.released == []

    reserved = harness.wallet.reservations[order_id]
    assert await harness.service.orphans.check(held(order_id, price=f"{reserved.price_per_share}")) is Presence.ABSENT
    again = await harness.service.place_order(ALICE, market)
    assert (again.id, again.status, again.type) == (order_id, OrderStatus.REJECTED, OrderType.MARKET)
    assert again.protection_price == reserved.price_per_share
