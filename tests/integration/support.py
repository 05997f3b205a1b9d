"""Helpers for the integration tests."""
from __future__ import annotations

import asyncio
import uuid
from typing import Callable

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

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
