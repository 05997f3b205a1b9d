from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import orjson
import pytest_asyncio
from sqlalchemy import select

from mybroker.auth import Caller
from mybroker.db import Database
from subgraphs.wallet.domain import SettlementError
from subgraphs.wallet.service import Fill, WalletService
from subgraphs.wallet.tables import metadata, outbox


@dataclass(frozen=True)
class OrderReport:
    """What orders hands the wallet for one of B3's reports (POST /internal/settlements)."""

    order_id: str
    status: str
    fill: Fill | None


TERMINAL = {"FILLED", "CANCELLED", "REJECTED", "EXPIRED"}


def order_event(
    order_id: str,
    user_id: str,
    status: str,
    *,
    side: str = "BUY",
    quantity: int = 100,
    filled: int = 0,
    fill: tuple[str, int, str] | None = None,
) -> OrderReport:
    """The order's state after one of B3's reports; `fill` is (executionId, quantity, price)."""
    settled = None if fill is None else Fill(fill[0], fill[1], Decimal(fill[2]))
    return OrderReport(order_id, status, settled)


@dataclass
class WalletEnv:
    db: Database
    service: WalletService
    refused: list = field(default_factory=list)

    async def deposit(self, user_id: str, amount: str):
        return await self.service.deposit(Caller(user_id), Decimal(amount))

    async def publish(self, *reports: OrderReport) -> None:
        """Settles as orders does before it stores each report's new status."""
        for report in reports:
            try:
                await self.service.settle(report.order_id, report.fill, report.status in TERMINAL)
            except SettlementError as exc:
                self.refused.append(exc)

    async def own_shares(self, user_id: str, quantity: int, price: str) -> None:
        """Buys shares the way the platform does: deposit, reserve, then a FILLED order event."""
        order_id = f"buy-{user_id}-{quantity}-{price}"
        await self.deposit(user_id, str(Decimal(price) * quantity))
        await self.service.reserve(order_id, user_id, "BUY", "PETR4", quantity, Decimal(price))
        await self.publish(order_event(order_id, user_id, "FILLED", quantity=quantity, filled=quantity, fill=(f"x-{order_id}", quantity, price)))

    async def outbox_messages(self) -> list[tuple[str, str, dict]]:
        async with self.db.read() as session:
            rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
        return [(row.channel, row.message_key, orjson.loads(row.payload)) for row in rows]


@pytest_asyncio.fixture
async def wallet(tmp_path) -> WalletEnv:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wallet.db'}", metadata)
    await db.create_schema()
    yield WalletEnv(db, WalletService(db))
    await db.dispose()
