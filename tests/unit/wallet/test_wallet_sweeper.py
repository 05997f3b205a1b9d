"""The sweeper of reservations with no order behind them, against the real wallet and the
orders service's real check (both on SQLite, in process), with an injectable clock."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import pytest_asyncio

from mybroker.auth import Caller
from mybroker.bus.memory import MemoryBus
from mybroker.db import Database
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import ORDER_EVENTS
from mybroker.live import LiveFeed
from subgraphs.orders.clients import Reservation
from subgraphs.orders.domain import OrderRequest, OrderSide, OrderStatus, OrderType
from subgraphs.orders.idempotency import LOST_REASON, HeldReservation, order_id_for
from subgraphs.orders.service import OrderService
from subgraphs.orders.tables import metadata as orders_metadata
from subgraphs.wallet.service import WalletService
from subgraphs.wallet.sweeper import ReservationSweeper, Unconfirmed
from subgraphs.wallet.tables import metadata as wallet_metadata
from tests.unit.orders.conftest import FakeAssets

ALICE = Caller("alice")
GRACE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 13, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class WalletForOrders:
    """orders' Reservations port, straight onto the wallet service (what the HTTP client does)."""

    def __init__(self, wallet: WalletService):
        self.wallet = wallet

    async def reserve(self, r: Reservation) -> None:
        await self.wallet.reserve(r.order_id, r.user_id, r.side, r.ticker, r.quantity, r.price_per_share)
        await self.after_reserve(r)

    async def after_reserve(self, r: Reservation) -> None:
        """Between the wallet's answer and the order's save (tests replace it)."""

    async def release(self, order_id: str) -> None:
        await self.wallet.cancel_reservation(order_id)


class OrdersForWallet:
    """The sweeper's OrderDirectory, straight onto orders' check (what the internal API does)."""

    def __init__(self, orders: OrderService):
        self.orders = orders
        self.asked: list[str] = []
        self.down = False

    async def check(self, held) -> dict[str, str]:
        if self.down:
            raise ConnectionError("orders is not answering")
        answers = {}
        for r in held:
            self.asked.append(r.order_id)
            reservation = HeldReservation(r.order_id, r.user_id, OrderSide(r.side), r.ticker, r.quantity, r.price_per_share, r.created_at)
            answers[r.order_id] = (await self.orders.orphans.check(reservation)).value
        return answers


class Env:
    """Wallet and orders on their own databases (SQLite here; MySQL in tests/integration)."""

    def __init__(self, wallet_url: str, orders_url: str):
        self.clock = Clock()
        self.bus = MemoryBus()
        self.wallet_db = Database(wallet_url, wallet_metadata)
        self.orders_db = Database(orders_url, orders_metadata)
        self.wallet = WalletService(self.wallet_db, clock=self.clock)
        self.reservations = WalletForOrders(self.wallet)
        self.orders = OrderService(
            self.orders_db, FakeAssets(), self.reservations, market_order_collar=Decimal("0.05"),
            live=LiveFeed(self.bus, ORDER_EVENTS), clock=self.clock,
        )
        self.directory = OrdersForWallet(self.orders)
        self.sweeper = ReservationSweeper(self.wallet_db, self.wallet, self.directory, grace=GRACE, interval=10, clock=self.clock)

    async def cash(self) -> tuple[Decimal, Decimal]:
        wallet = await self.wallet.wallet(ALICE, "alice")
        return wallet.available, wallet.blocked

    async def reserve_then_die(self, key: str, qty: int = 100, price: str = "30.00") -> str:
        """What orders does before it dies between reserving and saving."""
        order_id = order_id_for("alice", key)
        await self.wallet.reserve(order_id, "alice", "BUY", "PETR4", qty, Decimal(price))
        return order_id


async def open_env(wallet_url: str, orders_url: str, *, migrate: bool = False) -> Env:
    env = Env(wallet_url, orders_url)
    if migrate:
        from launch.registry import migrations_dir

        await env.wallet_db.migrate(migrations_dir("wallet"))
        await env.orders_db.migrate(migrations_dir("orders"))
    else:
        await env.wallet_db.create_schema()
        await env.orders_db.create_schema()
    await env.wallet.deposit(ALICE, Decimal("10000.00"))
    return env


async def close_env(env: Env) -> None:
    await env.sweeper.stop()
    await env.bus.stop()
    await env.wallet_db.dispose()
    await env.orders_db.dispose()


@pytest_asyncio.fixture
async def env(tmp_path):
    env = await open_env(f"sqlite+aiosqlite:///{tmp_path / 'wallet.db'}", f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    yield env
    await close_env(env)


def buy(key: str | None = None, qty: int = 100, price: str = "30.00") -> OrderRequest:
    return OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, qty, Decimal(price), client_order_id=key)


async def test_a_reservation_with_no_order_is_released_after_its_grace(env):
    orphan = await env.reserve_then_die("k-1")
    assert await env.cash() == (Decimal("7000.00"), Decimal("3000.00"))

    env.clock.advance(GRACE - 1)
    assert (await env.sweeper.sweep()).asked == 0  # not late yet: a placement may still be saving it
    assert await env.cash() == (Decimal("7000.00"), Decimal("3000.00"))

    env.clock.advance(1)
    result = await env.sweeper.sweep()
    assert (result.asked, result.confirmed, result.released) == (1, 0, 1)
    assert await env.cash() == (Decimal("10000.00"), Decimal("0.00"))
    assert env.sweeper.metrics.released._value.get() == 1
    # Orders closed the id first: the order reads REJECTED, lost, and nothing went to B3.
    lost = await env.orders.order(ALICE, orphan)
    assert (lost.status, lost.reject_reason) == (OrderStatus.REJECTED, LOST_REASON)
    # A closed reservation is not asked about again.
    env.clock.advance(60)
    assert (await env.sweeper.sweep()).asked == 0


async def test_a_reservation_with_its_order_is_confirmed_once_and_never_released(env):
    order = await env.orders.place_order(ALICE, buy("k-1"))
    env.clock.advance(GRACE)
    assert (await env.sweeper.sweep()).confirmed == 1
    env.clock.advance(3600)
    assert (await env.sweeper.sweep()).asked == 0 and env.directory.asked == [order.id]
    assert await env.cash() == (Decimal("7000.00"), Decimal("3000.00"))
    assert (await env.orders.order(ALICE, order.id)).status is OrderStatus.PENDING


async def test_nothing_is_released_while_orders_does_not_answer(env):
    await env.reserve_then_die("k-1")
    env.clock.advance(GRACE)
    env.directory.down = True
    with pytest.raises(ConnectionError):
        await env.sweeper.sweep()
    assert await env.cash() == (Decimal("7000.00"), Decimal("3000.00"))
    env.directory.down = False
    assert (await env.sweeper.sweep()).released == 1


async def test_an_unanswered_reservation_stays_and_is_asked_again(env):
    await env.reserve_then_die("k-1")
    env.clock.advance(GRACE)

    async def no_answer(held):
        return {}

    real = env.directory.check
    env.directory.check = no_answer
    assert (await env.sweeper.sweep()).released == 0
    env.directory.check = real
    assert (await env.sweeper.sweep()).released == 1


async def test_the_sweep_pages_through_many_reservations(env):
    env.sweeper.batch = 3
    orphans = [await env.reserve_then_die(f"k-{i}", qty=100, price="1.00") for i in range(7)]
    kept = await env.orders.place_order(ALICE, buy("kept"))
    env.clock.advance(GRACE)
    result = await env.sweeper.sweep()
    assert (result.asked, result.confirmed, result.released) == (8, 1, 7)
    assert sorted(env.directory.asked) == sorted([*orphans, kept.id])
    assert await env.cash() == (Decimal("7000.00"), Decimal("3000.00"))


async def test_a_late_retry_after_the_release_finds_the_lost_order_and_blocks_nothing(env):
    orphan = await env.reserve_then_die("k-1")
    env.clock.advance(GRACE)
    await env.sweeper.sweep()
    again = await env.orders.place_order(ALICE, buy("k-1"))
    assert (again.id, again.status) == (orphan, OrderStatus.REJECTED)
    assert await env.cash() == (Decimal("10000.00"), Decimal("0.00"))


async def test_a_placement_stuck_past_the_grace_loses_to_the_sweeper_and_its_money_is_freed(env):
    async def stuck(reservation):
        env.clock.advance(GRACE)
        await env.sweeper.sweep()  # meanwhile: orders says "absent", the wallet releases

    env.reservations.after_reserve = stuck
    with pytest.raises(DomainError) as caught:
        await env.orders.place_order(ALICE, buy("k-stuck"))
    assert caught.value.code is ErrorCode.INTERNAL_SERVER_ERROR and LOST_REASON in caught.value.message
    assert await env.cash() == (Decimal("10000.00"), Decimal("0.00"))
    lost = await env.orders.order(ALICE, order_id_for("alice", "k-stuck"))
    assert lost.status is OrderStatus.REJECTED and lost.client_order_id == "k-stuck"


async def test_sweeps_racing_placements_never_free_a_live_orders_money(env):
    """Placements whose saves take a random while, sweeps running all the time with no
    grace at all: every order ends stored with its whole reservation, or lost with its
    reservation released, and the cash adds up to the centavo."""
    env.sweeper.grace = 0
    rng = random.Random(12)

    async def slow_save(_reservation):
        await asyncio.sleep(rng.random() * 0.02)

    env.reservations.after_reserve = slow_save
    placing = [
        asyncio.create_task(env.orders.place_order(ALICE, buy(f"k-{i}" if i % 2 else None, price="1.00"))) for i in range(24)
    ]
    sweeps = 0
    while not all(task.done() for task in placing):
        await env.sweeper.sweep()
        sweeps += 1
        await asyncio.sleep(0.002)
    await env.sweeper.sweep()
    results = [task.result() if task.exception() is None else task.exception() for task in placing]

    live = [r for r in results if not isinstance(r, BaseException)]
    lost_errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, DomainError) and LOST_REASON in e.message for e in lost_errors), lost_errors
    assert all(order.status is OrderStatus.PENDING for order in live)
    for order in live:
        assert (await env.orders.order(ALICE, order.id)).status is OrderStatus.PENDING
    available, blocked = await env.cash()
    assert blocked == Decimal("100.00") * len(live)
    assert available + blocked == Decimal("10000.00")
    assert sweeps > 1


async def test_the_loop_sweeps_every_interval(env):
    await env.reserve_then_die("k-1")
    env.clock.advance(GRACE)
    env.sweeper.interval = 0.01
    await env.sweeper.start()
    deadline = asyncio.get_running_loop().time() + 10
    while env.sweeper.metrics.released._value.get() < 1:
        assert asyncio.get_running_loop().time() < deadline, "the loop never released the orphan"
        await asyncio.sleep(0.01)
    await env.sweeper.stop()
    assert await env.cash() == (Decimal("10000.00"), Decimal("0.00"))


def test_what_orders_is_told_about_a_reservation():
    held = Unconfirmed("o-1", "alice", "BUY", "PETR4", 100, Decimal("30.5"), datetime(2026, 1, 5, 13, 0, tzinfo=timezone.utc))
    assert held.as_json() == {
        "orderId": "o-1",
        "userId": "alice",
        "side": "BUY",
        "ticker": "PETR4",
        "quantity": 100,
        "pricePerShare": "30.50",
        "createdAt": "2026-01-05T13:00:00.000Z",
    }


async def test_the_wallet_service_runs_the_sweeper_and_counts_releases_at_metrics(tmp_path):
    import aiohttp

    from mybroker.auth import internal_headers
    from mybroker.cache import MemoryCache
    from mybroker.internal_http import InternalClient
    from launch.platform import serve_app
    from mybroker.service import Infrastructure
    from mybroker.settings import Settings
    from subgraphs.wallet.app import create_service
    from tests.unit.orders.test_orders_app import free_port

    class NoOrders:  # orders has closed every id it is asked about
        async def check(self, held):
            return {r.order_id: "absent" for r in held}

    settings = Settings(data_dir=tmp_path, internal_secret="s", reservation_grace_seconds=0, reservation_sweep_interval=0.01)
    bus = MemoryBus()
    service = create_service(Infrastructure(settings, bus, MemoryCache()), orders=NoOrders())
    await service.start()
    port = free_port()
    server, task = await serve_app(service.app, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    wallet = InternalClient(url, "s")

    async def graphql(http, query):
        async with http.post(f"{url}/graphql", json={"query": query}, headers=internal_headers("s", "alice")) as response:
            return (await response.json())["data"]

    try:
        async with aiohttp.ClientSession() as http:
            await graphql(http, 'mutation { deposit(amount: "1000.00") { available } }')
            body = {"orderId": "o-1", "userId": "alice", "side": "BUY", "ticker": "PETR4", "quantity": 100, "pricePerShare": "2.00"}
            await wallet.call("POST", "/internal/reservations", body)
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                async with http.get(f"{url}/metrics") as response:  # anyone may read it
                    text = await response.text()
                if "mybroker_wallet_orphan_reservations_released_total 1.0" in text:
                    break
                assert asyncio.get_running_loop().time() < deadline, text
                await asyncio.sleep(0.01)
            assert "alice" not in text and "o-1" not in text
            me = await graphql(http, '{ _entities(representations: [{__typename: "User", id: "alice"}]) { ... on User { wallet { available blocked } } } }')
            assert me["_entities"][0]["wallet"] == {"available": "1000.00", "blocked": "0.00"}
    finally:
        await wallet.close()
        server.should_exit = True
        await task
        await service.stop()
        await bus.stop()


def test_the_settings_and_their_defaults_bound_the_release_to_a_minute():
    from mybroker.settings import Settings

    defaults = Settings.from_env(env={})
    assert (defaults.reservation_grace_seconds, defaults.reservation_sweep_interval) == (30.0, 10.0)
    assert defaults.reservation_grace_seconds + 2 * defaults.reservation_sweep_interval <= 60
    assert (defaults.reconcile_interval, defaults.reconcile_pending_grace, defaults.reconcile_timeout) == (300.0, 30.0, 30.0)
    tuned = Settings.from_env(
        env={"MYBROKER_RESERVATION_GRACE_SECONDS": "5", "MYBROKER_RESERVATION_SWEEP_INTERVAL": "1", "MYBROKER_RECONCILE_INTERVAL": "0"}
    )
    assert (tuned.reservation_grace_seconds, tuned.reservation_sweep_interval, tuned.reconcile_interval) == (5.0, 1.0, 0.0)
    for name, value in (("RESERVATION_SWEEP_INTERVAL", "0"), ("RESERVATION_GRACE_SECONDS", "-1"), ("RECONCILE_TIMEOUT", "nan")):
        with pytest.raises(ValueError, match=f"MYBROKER_{name}"):
            Settings.from_env(env={f"MYBROKER_{name}": value})
