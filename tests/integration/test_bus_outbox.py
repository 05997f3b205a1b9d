"""The outbox relay over the real brokers: a crash between publish and mark loses nothing,
and the inbox applies the republished message once."""
from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select

from mybroker.db import Database, OutboxRelay, messaging_tables
from mybroker.events import Envelope
from tests.integration.support import inbox_consumer, until


class CrashAfterPublish:
    """A bus whose process 'dies' right after the broker acknowledged the n-th message,
    before the relay could mark its outbox row."""

    def __init__(self, bus, after: int):
        self.bus = bus
        self.after = after
        self.published = 0

    async def publish(self, channel, message, key=None):
        await self.bus.publish(channel, message, key)
        self.published += 1
        if self.published == self.after:
            raise ConnectionAbortedError("crashed between publish and mark")


@pytest.mark.parametrize("kind", ["kafka", "rabbitmq"])
async def test_relay_resumes_after_a_crash_and_the_inbox_applies_everything_once(kind, names, make_bus, tmp_path):
    channel = names.channel(kind)
    metadata = MetaData()
    Table("things", metadata, Column("id", Integer, primary_key=True))
    outbox, _inbox = messaging_tables(metadata)
    producer_db = Database(f"sqlite+aiosqlite:///{tmp_path}/producer.db", metadata)
    await producer_db.create_schema()
    consumer_db, handler, deliveries, applied_rows = inbox_consumer(tmp_path, "consumer")
    await consumer_db.create_schema()

    bus = make_bus()
    bus.subscribe(channel, names.group(), handler)
    await bus.start()
    messages = [Envelope("T", {"n": n}) for n in range(10)]
    for message in messages:
        async with producer_db.transaction() as tx:
            await tx.emit(channel, message, key="order-1")

    with pytest.raises(ConnectionAbortedError):
        await OutboxRelay(producer_db, CrashAfterPublish(bus, after=4)).publish_pending()
    # A new process: rows 4..10 are unmarked, the 4th already on the broker.
    assert await OutboxRelay(producer_db, bus).publish_pending() == 7

    await until(lambda: len(deliveries) >= 11, what="11 deliveries")
    ids = [m.id for m in messages]
    assert deliveries == ids[:4] + ids[3:]  # the 4th twice, in order
    assert await applied_rows() == [(m.id, m.data["n"]) for m in messages]
    async with producer_db.read() as session:
        assert (await session.execute(select(outbox.c.seq).where(outbox.c.published_at.is_(None)))).all() == []
    await producer_db.dispose()
    await consumer_db.dispose()
