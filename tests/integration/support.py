"""Helpers for the integration tests."""
from __future__ import annotations

import asyncio
import uuid
from typing import Callable

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update

from mybroker.db import Database, messaging_tables
from mybroker.events import Envelope


def unique(prefix: str) -> str:
    """Names per test run, so runs never see each other's messages."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(0.02)


def inbox_consumer(tmp_path, name: str):
    """A consumer service's database (SQLite) and a handler that applies each message once."""
    metadata = MetaData()
    applied = Table(
        "applied",
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("message_id", String(64), nullable=False),  # not unique: a double apply must show
        Column("n", Integer),
    )
    messaging_tables(metadata)
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/{name}.db", metadata)
    deliveries: list[str] = []

    async def handler(message: Envelope) -> None:
        deliveries.append(message.id)
        async with db.transaction() as tx:
            if await tx.first_time("it-consumer", message.id):
                await tx.session.execute(insert(applied).values(message_id=message.id, n=message.data["n"]))

    async def applied_rows() -> list[tuple[str, int]]:
        query = select(applied.c.message_id, applied.c.n).order_by(applied.c.seq)
        async with db.read() as session:
            return [tuple(row) for row in (await session.execute(query)).all()]

    return db, handler, deliveries, applied_rows


def racing_inbox(url: str) -> tuple[Database, Table]:
    """A database with an `account` row counter and the messaging tables, for racing_consumers."""
    metadata = MetaData()
    account = Table("account", metadata, Column("id", Integer, primary_key=True, autoincrement=False), Column("applied", Integer))
    messaging_tables(metadata)
    return Database(url, metadata), account


async def racing_consumers(db: Database, account: Table, racers: int) -> None:
    """`racers` consumers each hold a transaction open, then record the same message at
    once: exactly one applies it, the others see "already processed" and their
    transactions stay usable. `racers` must stay within the pool (all hold a connection
    at the barrier). The schema must exist."""
    async with db.transaction() as tx:
        await tx.session.execute(account.insert().values(id=1, applied=0))
    arrived, go = 0, asyncio.Event()

    async def consume() -> bool:
        nonlocal arrived
        async with db.transaction() as tx:
            await tx.session.execute(text("SELECT 1"))
            arrived += 1
            if arrived == racers:
                go.set()
            await go.wait()
            if not await tx.first_time("racer", "message-1"):
                await tx.session.execute(text("SELECT 1"))  # still usable after the duplicate
                return False
            await tx.session.execute(update(account).where(account.c.id == 1).values(applied=account.c.applied + 1))
            await asyncio.sleep(0.05)  # hold the inbox row while the others try
            return True

    results = await asyncio.gather(*(consume() for _ in range(racers)))
    assert results.count(True) == 1
    async with db.read() as session:
        assert (await session.execute(select(account.c.applied))).scalar() == 1
