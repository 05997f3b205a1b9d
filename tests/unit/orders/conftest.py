"""The orders service on a temporary SQLite database, with fake assets and wallet services."""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import select

from mybroker.bus.memory import MemoryBus
from mybroker.db import Database
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import ORDER_EVENTS, Envelope
from mybroker.live import LiveFeed
from subgraphs.orders.clients import AssetInfo, Reservation
from subgraphs.orders.service import OrderService
from subgraphs.orders.tables import metadata, outbox

COLLAR = Decimal("0.05")


class FakeAssets:
    def __init__(self) -> None:
        self.assets = {
            "PETR4": AssetInfo("PETR4", 100, True, Decimal("31.43")),
            "KNRI11": AssetInfo("KNRI11", 1, True, Decimal("160.00")),
            "NEWB3": AssetInfo("NEWB3", 100, True, None),  # listed, never traded yet
            "GONE3": AssetInfo("GONE3", 100, False, Decimal("5.00")),
        }
        self.lookups: list[str] = []

    async def asset(self, ticker: str) -> AssetInfo:
        self.lookups.append(ticker)
        if ticker not in self.assets:
            raise DomainError(ErrorCode.UNKNOWN_ASSET, f"Unknown asset {ticker}.")
        return self.assets[ticker]


class FakeWallet:
    """Check-and-block like the wallet's internal API, idempotent by order id."""

    def __init__(self, cash: Decimal = Decimal("100000.00"), shares: dict[str, int] | None = None):
        self.cash = cash
        self.shares = dict(shares or {})
        self.reservations: dict[str, Reservation] = {}
        self.released: list[str] = []
        self.reserve_calls = 0
        self.terms: list[tuple[str, int, Decimal | None]] = []
        self.settlements: list[tuple[str, str | None, bool]] = []

    def blocked_cash(self) -> Decimal:
        return sum((r.price_per_share * r.quantity for r in self.reservations.values() if r.side == "BUY"), Decimal("0"))

    def blocked_shares(self, ticker: str) -> int:
        return sum(r.quantity for r in self.reservations.values() if r.side == "SELL" and r.ticker == ticker)

    async def reserve(self, reservation: Reservation) -> None:
        self.reserve_calls += 1
        held = self.reservations.get(reservation.order_id)
        if held is not None:
            # As the wallet does: the same order id on other terms is refused.
            same = (held.user_id, held.side, held.ticker, held.quantity) == (
                reservation.user_id, reservation.side, reservation.ticker, reservation.quantity
            ) and (held.side == "SELL" or held.price_per_share == reservation.price_per_share)
            if not same:
                raise DomainError(ErrorCode.BAD_USER_INPUT, f"Order {reservation.order_id} already holds a different reservation.")
            await self.after_reserve(reservation)
            return
        if reservation.side == "BUY":
            if reservation.price_per_share * reservation.quantity > self.cash - self.blocked_cash():
                raise DomainError(ErrorCode.INSUFFICIENT_FUNDS, "not enough cash")
        elif reservation.quantity > self.shares.get(reservation.ticker, 0) - self.blocked_shares(reservation.ticker):
            raise DomainError(ErrorCode.INSUFFICIENT_POSITION, "not enough shares")
        self.reservations[reservation.order_id] = reservation
        await self.after_reserve(reservation)

    async def after_reserve(self, reservation: Reservation) -> None:
        """A hook between the wallet's answer and the order's save (tests replace it)."""

    async def release(self, order_id: str) -> None:
        self.released.append(order_id)
        self.reservations.pop(order_id, None)

    async def set_terms(self, order_id: str, quantity: int, price_per_share: Decimal | None) -> None:
        """Grows or shrinks a reservation to new terms (fills are not tracked here)."""
        current = self.reservations[order_id]
        proposed = replace(current, quantity=quantity, price_per_share=price_per_share or current.price_per_share)
        others = {k: v for k, v in self.reservations.items() if k != order_id}
        self.reservations = others
        try:
            await self.reserve(proposed)
        except DomainError:
            self.reservations[order_id] = current
            raise
        self.terms.append((order_id, quantity, price_per_share))

    async def settle(self, order_id: str, fill, closed: bool) -> None:
        self.settlements.append((order_id, None if fill is None else fill.execution_id, closed))
        if closed:
            self.reservations.pop(order_id, None)


@dataclass
class Harness:
    service: OrderService
    db: Database
    assets: FakeAssets
    wallet: FakeWallet
    bus: MemoryBus

    async def outbox(self) -> list[tuple[str, str | None, Envelope]]:
        async with self.db.read() as session:
            rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
        return [(row.channel, row.message_key, Envelope.from_bytes(row.payload)) for row in rows]


@pytest_asyncio.fixture
async def harness(tmp_path) -> Harness:
    bus = MemoryBus()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}", metadata)
    await db.create_schema()
    assets, wallet = FakeAssets(), FakeWallet(shares={"PETR4": 300})
    service = OrderService(db, assets, wallet, market_order_collar=COLLAR, live=LiveFeed(bus, ORDER_EVENTS))
    yield Harness(service, db, assets, wallet, bus)
    await bus.stop()
    await db.dispose()


@pytest.fixture
def service(harness: Harness) -> OrderService:
    return harness.service
