from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import orjson
import pytest_asyncio
from sqlalchemy import select

from mybroker.auth import Caller
from mybroker.bus.memory import MemoryBus
from mybroker.db import Database
from mybroker.events import ORDER_EVENTS, ORDER_UPDATED, Envelope
from subgraphs.wallet import consumers
from subgraphs.wallet.service import WalletService
from subgraphs.wallet.tables import metadata, outbox


def order_event(
    order_id: str,
    user_id: str,
    status: str,
    *,
    side: str = "BUY",
    quantity: int = 100,
    filled: int = 0,
    fill: tuple[str, int, str] | None = None,
) -> Envelope:
    """An `OrderUpdated` snapshot as orders publishes it; `fill` is (executionId, quantity, price)."""
    last_fill = None
    if fill is not None:
        execution_id, fill_quantity, price = fill
        last_fill = {"executionId": execution_id, "quantity": fill_quantity, "price": price, "executedAt": "2026-01-05T13:00:00.000Z"}
    return Envelope(
        ORDER_UPDATED,
        {
            "orderId": order_id,
            "userId": user_id,
            "ticker": "PETR4",
            "side": side,
            "type": "LIMIT",
            "timeInForce": "DAY",
            "quantity": quantity,
            "limitPrice": "32.00",
            "filledQuantity": filled,
            "averagePrice": None,
            "status": status,
            "rejectReason": None,
            "lastFill": last_fill,
            "createdAt": "2026-01-05T13:00:00.000Z",
            "updatedAt": "2026-01-05T13:00:00.000Z",
        },
    )


@dataclass
class WalletEnv:
    db: Database
    service: WalletService
    bus: MemoryBus

    async def deposit(self, user_id: str, amount: str):
        return await self.service.deposit(Caller(user_id), Decimal(amount))

    async def publish(self, *messages: Envelope) -> None:
        for message in messages:
            await self.bus.publish(ORDER_EVENTS, message, key=message.data["orderId"])
        await self.bus.drain()

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
    service = WalletService(db)
    bus = MemoryBus(retry_delay=0.001)
    consumers.subscribe(bus, service)
    await bus.start()
    yield WalletEnv(db, service, bus)
    await bus.stop()
    await db.dispose()
