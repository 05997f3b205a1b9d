"""An OCO pair's ONE reservation in the real wallet, driven by the orders service as B3's
reports arrive: a SELL pair blocks its shares and its brokerage once, a BUY pair the
larger leg's price once; the reservation follows the surviving leg, and whatever order
the legs end in, nothing stays blocked (the invariant: blocked cash and shares are zero,
and available cash is exactly the ledger's sum)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
import pytest_asyncio

from mybroker.auth import Caller
from mybroker.db import Database
from mybroker.errors import DomainError, ErrorCode
from mybroker.fees import BrokeragePlan, FeeSchedule
from subgraphs.orders.clients import Reservation
from subgraphs.orders.domain import ExecType, ExecutionReport, OcoRequest, OrderSide, TimeInForce
from subgraphs.orders.service import OrderService
from subgraphs.orders.tables import metadata as orders_metadata
from subgraphs.wallet import repository
from subgraphs.wallet.service import Fill, WalletService
from subgraphs.wallet.tables import metadata as wallet_metadata
from tests.unit.orders.conftest import COLLAR, FakeAssets

ALICE = "alice"
T1 = datetime(2026, 11, 24, 13, 5, tzinfo=timezone.utc)
# B3's table with a brokerage of R$ 2.50 an order: a SELL blocks it until its first fill.
FEES = FeeSchedule(plan=BrokeragePlan("test", Decimal("2.50"), Decimal("0")))


class InProcessWallet:
    """orders' Reservations port on the wallet service itself (what its internal API does)."""

    def __init__(self, service: WalletService):
        self.service = service
        self.reserve_calls = 0

    async def reserve(self, r: Reservation) -> None:
        self.reserve_calls += 1
        await self.service.reserve(r.order_id, r.user_id, r.side, r.ticker, r.quantity, r.price_per_share)

    async def release(self, order_id: str) -> None:
        await self.service.cancel_reservation(order_id)

    async def set_terms(self, order_id: str, quantity: int, price_per_share: Decimal | None) -> None:
        await self.service.set_terms(order_id, quantity, price_per_share)

    async def settle(self, order_id: str, fill, closed: bool) -> None:
        await self.service.settle(order_id, None if fill is None else Fill(fill.execution_id, fill.quantity, fill.price), closed)


class Env:
    def __init__(self, orders: OrderService, wallet: WalletService, port: InProcessWallet):
        self.orders, self.wallet, self.port = orders, wallet, port
        self.n = 0

    async def report(self, order_id: str, kind: ExecType, qty: int | None = None, price: str | None = None, reason: str | None = None):
        self.n += 1
        exec_id = f"x{self.n}" if kind is ExecType.FILL else None
        await self.orders.apply_execution(
            f"m{self.n}",
            ExecutionReport(order_id, kind, T1, execution_id=exec_id, quantity=qty, price=None if price is None else Decimal(price), reason=reason),
        )

    async def state(self) -> tuple[Decimal, Decimal, int, int, Decimal]:
        """(available, blocked, shares, blocked shares, the ledger's sum)."""
        w = await self.wallet.wallet(Caller(ALICE), ALICE)
        positions = await self.wallet.positions(Caller(ALICE), ALICE)
        shares = sum(p.quantity for p in positions)
        held = sum(p.blocked_quantity for p in positions)
        async with self.wallet.db.read() as session:
            ledger = sum((e.amount for e in await repository.entries_of(session, ALICE, 500)), Decimal("0"))
        return w.available, w.blocked, shares, held, ledger

    async def assert_nothing_blocked(self) -> None:
        available, blocked, _, held, ledger = await self.state()
        assert (blocked, held) == (Decimal("0.00"), 0)
        assert available == ledger


@pytest_asyncio.fixture
async def env(tmp_path):
    wallet_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wallet.db'}", wallet_metadata)
    orders_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}", orders_metadata)
    await wallet_db.create_schema()
    await orders_db.create_schema()
    wallet = WalletService(wallet_db, fees=FEES)
    port = InProcessWallet(wallet)
    orders = OrderService(orders_db, FakeAssets(), port, market_order_collar=COLLAR, fees=FEES)
    # alice holds 300 PETR4 and R$ 50,000.00 (bought the way the platform does).
    await wallet.deposit(Caller(ALICE), Decimal("60000.00"))
    await wallet.reserve("seed", ALICE, "BUY", "PETR4", 300, Decimal("30.00"))
    await wallet.settle("seed", Fill("seed-1", 300, Decimal("30.00")), True)
    yield Env(orders, wallet, port)
    await orders_db.dispose()
    await wallet_db.dispose()


def sell_pair(qty: int = 300) -> OcoRequest:
    return OcoRequest("PETR4", OrderSide.SELL, qty, Decimal("33.00"), Decimal("30.00"), None, TimeInForce.GTC)


async def place(env: Env, request: OcoRequest):
    take, stop = await env.orders.place_oco_order(Caller(ALICE), request)
    await env.report(take.id, ExecType.ACCEPTED)
    await env.report(stop.id, ExecType.ACCEPTED)
    return take.id, stop.id


async def test_a_sell_pair_blocks_its_shares_and_its_brokerage_once(env):
    before = await env.state()
    await place(env, sell_pair())
    available, blocked, shares, held, _ = await env.state()
    assert env.port.reserve_calls == 1
    assert (held, blocked, available) == (300, Decimal("2.50"), before[0] - Decimal("2.50"))
    with pytest.raises(DomainError) as caught:  # the pair holds all 300
        await env.orders.place_oco_order(Caller(ALICE), sell_pair(100))
    assert caught.value.code is ErrorCode.INSUFFICIENT_POSITION


async def test_a_buy_pair_blocks_the_larger_legs_price_once(env):
    available = (await env.state())[0]
    # take-profit (buy back) at 30.00; the stop at 33.00 blocks as a MARKET BUY there: 34.65.
    await place(env, OcoRequest("PETR4", OrderSide.BUY, 100, Decimal("30.00"), Decimal("33.00"), None, TimeInForce.GTC))
    blocked = (await env.state())[1]
    value = Decimal("34.65") * 100
    assert blocked == value + FEES.still_to_pay(Decimal("0.00"), value)
    assert (await env.state())[0] == available - blocked


async def story_take_profit_fills(env: Env, take: str, stop: str) -> None:
    await env.report(take, ExecType.FILL, 300, "33.00")
    await env.report(stop, ExecType.CANCELLED, reason="OCO: the other order of the group executed")


async def story_sibling_cancel_arrives_first(env: Env, take: str, stop: str) -> None:
    await env.report(stop, ExecType.CANCELLED, reason="OCO: the other order of the group executed")
    assert (await env.state())[3] == 300  # the take-profit still holds the shares
    await env.report(take, ExecType.FILL, 300, "33.00")


async def story_partial_take_profit_then_trader_cancel(env: Env, take: str, stop: str) -> None:
    await env.report(take, ExecType.FILL, 100, "33.00")
    await env.report(stop, ExecType.CANCELLED, reason="OCO: the other order of the group executed")
    assert (await env.state())[3] == 200  # the rest of the take-profit keeps resting
    await env.report(take, ExecType.CANCELLED, reason="cancelled on request")


async def story_stop_loss_triggers_and_fills(env: Env, take: str, stop: str) -> None:
    await env.report(stop, ExecType.TRIGGERED, price="29.99")
    await env.report(take, ExecType.CANCELLED, reason="OCO: the other order of the group executed")
    assert (await env.state())[3] == 300  # follows the surviving stop-loss
    await env.report(stop, ExecType.FILL, 200, "29.98")
    await env.report(stop, ExecType.FILL, 100, "29.97")


async def story_trader_cancels_one_leg(env: Env, take: str, stop: str) -> None:
    await env.orders.cancel_order(Caller(ALICE), stop)
    await env.report(stop, ExecType.CANCELLED, reason="cancelled on request")
    await env.report(take, ExecType.CANCELLED, reason="OCO: the other order of the group was cancelled")


async def story_day_ends(env: Env, take: str, stop: str) -> None:
    await env.report(take, ExecType.EXPIRED, reason="end of day")
    await env.report(stop, ExecType.EXPIRED, reason="end of day")


STORIES = [
    story_take_profit_fills,
    story_sibling_cancel_arrives_first,
    story_partial_take_profit_then_trader_cancel,
    story_stop_loss_triggers_and_fills,
    story_trader_cancels_one_leg,
    story_day_ends,
]


@pytest.mark.parametrize("story", STORIES, ids=[s.__name__.removeprefix("story_") for s in STORIES])
async def test_whatever_way_the_pair_ends_nothing_stays_blocked(env, story):
    _, _, shares_before, _, _ = await env.state()
    take, stop = await place(env, sell_pair())
    await story(env, take, stop)
    await env.assert_nothing_blocked()
    sold = 300 - (await env.state())[2]
    assert sold in (0, 100, 300) and shares_before == 300


async def test_a_buy_pair_ends_with_nothing_blocked(env):
    take, stop = await place(env, OcoRequest("PETR4", OrderSide.BUY, 200, Decimal("30.00"), Decimal("33.00"), None, TimeInForce.GTC))
    await env.report(take, ExecType.FILL, 100, "29.90")  # cheaper than the block's 34.65
    await env.report(stop, ExecType.CANCELLED, reason="OCO: the other order of the group executed")
    assert (await env.state())[1] >= Decimal("34.65") * 100  # the rest of the take-profit may still fill
    await env.report(take, ExecType.FILL, 100, "30.00")
    await env.assert_nothing_blocked()
    assert (await env.state())[2] == 500
