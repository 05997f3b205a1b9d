"""The bus, the outbox relay and the inbox: nothing lost, nothing applied twice."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, select, update

from mybroker.bus.memory import MemoryBus
from mybroker.db import Database, OutboxRelay, messaging_tables
from mybroker.events import Envelope
from mybroker.live import LiveFeed


def _database(tmp_path) -> tuple[Database, Table]:
    metadata = MetaData()
    account = Table("account", metadata, Column("id", Integer, primary_key=True), Column("balance", Integer))
    messaging_tables(metadata)
    return Database(f"sqlite+aiosqlite:///{tmp_path}/svc.db", metadata), account


async def test_every_group_gets_every_message_in_order():
    bus = MemoryBus()
    seen: dict[str, list[int]] = {"a": [], "b": []}
    for group in seen:
        bus.subscribe("ch", group, lambda m, g=group: _append(seen[g], m.data["n"]))
    await bus.start()
    for n in range(20):
        await bus.publish("ch", Envelope("T", {"n": n}))
    await bus.drain()
    await bus.stop()
    assert seen == {"a": list(range(20)), "b": list(range(20))}


async def test_a_group_subscribed_after_start_is_consumed_by_one_worker():
    bus = MemoryBus()
    await bus.start()  # no group yet
    seen: list[int] = []
    bus.subscribe("ch", "late", lambda m: _append(seen, m.data["n"]))
    bus.subscribe("ch", "late", lambda m: _append(seen, -m.data["n"]))  # a second handler, same group
    for n in range(1, 4):
        await bus.publish("ch", Envelope("T", {"n": n}))
    await asyncio.wait_for(bus.drain(), 5)
    workers = len(bus._tasks)
    await bus.stop()
    assert seen == [1, -1, 2, -2, 3, -3]
    assert workers == 1


async def _append(target: list, value) -> None:
    target.append(value)


async def test_a_failing_message_is_dead_lettered_and_the_flow_continues():
    bus = MemoryBus(max_attempts=3, retry_delay=0)
    handled = []

    async def handler(message: Envelope) -> None:
        if message.data["poison"]:
            raise ValueError("cannot process")
        handled.append(message.id)

    bus.subscribe("ch", "g", handler)
    await bus.start()
    poison, good = Envelope("T", {"poison": True}), Envelope("T", {"poison": False})
    await bus.publish("ch", poison)
    await bus.publish("ch", good)
    await bus.drain()
    await bus.stop()
    assert handled == [good.id]
    assert [(m.id, reason) for _c, _g, m, reason in bus.dead_letters] == [(poison.id, "ValueError('cannot process')")]


async def test_check_and_write_transactions_are_serialised(tmp_path):
    db, account = _database(tmp_path)
    await db.create_schema()
    async with db.transaction() as tx:
        await tx.session.execute(account.insert().values(id=1, balance=0))

    async def increment() -> None:
        async with db.transaction() as tx:
            balance = (await tx.session.execute(select(account.c.balance))).scalar_one()
            await asyncio.sleep(0)  # let the others interleave if they could
            await tx.session.execute(update(account).values(balance=balance + 1))

    await asyncio.gather(*(increment() for _ in range(30)))
    async with db.read() as session:
        assert (await session.execute(select(account.c.balance))).scalar_one() == 30
    await db.dispose()


async def test_outbox_messages_leave_only_after_commit_and_exactly_in_order(tmp_path):
    db, account = _database(tmp_path)
    await db.create_schema()
    try:
        async with db.transaction() as tx:
            await tx.emit("ch", Envelope("T", {"n": -1}))
            raise RuntimeError("the use case failed")
    except RuntimeError:
        pass
    for n in range(5):
        async with db.transaction() as tx:
            await tx.emit("ch", Envelope("T", {"n": n}), key="k")

    bus, received = MemoryBus(), []
    bus.subscribe("ch", "g", lambda m: _append(received, m.data["n"]))
    await bus.start()
    relay = OutboxRelay(db, bus)
    assert await relay.publish_pending() == 5
    assert await relay.publish_pending() == 0, "published rows are marked and not sent again"
    await bus.drain()
    await bus.stop()
    await db.dispose()
    assert received == [0, 1, 2, 3, 4]


async def test_a_transactions_messages_are_one_write_in_emit_order(tmp_path):
    db, _account = _database(tmp_path)
    await db.create_schema()
    statements: list[str] = []
    event.listen(db.write_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    async with db.transaction() as tx:
        for n in range(3):
            await tx.emit("ch", Envelope("T", {"n": n}), key=f"k{n}")
    async with db.transaction() as tx:
        await tx.emit("other", Envelope("T", {"n": 3}))
    outbox_writes = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO OUTBOX")]
    assert len(outbox_writes) == 2, "one statement per transaction, not one per message"
    bus, received = MemoryBus(), []
    for channel in ("ch", "other"):
        bus.subscribe(channel, "g", lambda m, c=channel: _append(received, (c, m.data["n"])))
    await bus.start()
    assert await OutboxRelay(db, bus).publish_pending() == 4
    await bus.drain()
    await bus.stop()
    await db.dispose()
    assert received == [("ch", 0), ("ch", 1), ("ch", 2), ("other", 3)]


async def test_a_message_seen_before_is_refused_and_the_transaction_still_commits(tmp_path):
    db, account = _database(tmp_path)
    await db.create_schema()
    async with db.transaction() as tx:
        assert await tx.first_time("c", "m-1")
        assert not await tx.first_time("c", "m-1"), "the same message twice in one transaction"
        assert await tx.first_time("other consumer", "m-1"), "each consumer keeps its own record"
    async with db.transaction() as tx:
        assert not await tx.first_time("c", "m-1")
        await tx.session.execute(account.insert().values(id=7, balance=1))
    async with db.read() as session:
        assert (await session.execute(select(account.c.balance).where(account.c.id == 7))).scalar_one() == 1
    await db.dispose()


async def test_relay_marks_a_whole_batch_in_one_write_and_keeps_what_a_failed_publish_did_not_send(tmp_path):
    """Each write queues for SQLite's one write lock: a mark per row made the relay most of
    a busy service's writes. A publish failing mid-batch marks only what went out."""
    db, _account = _database(tmp_path)
    await db.create_schema()
    for n in range(6):
        async with db.transaction() as tx:
            await tx.emit("ch", Envelope("T", {"n": n}))
    writes = 0
    opened = db.transaction

    def counted():
        nonlocal writes
        writes += 1
        return opened()

    db.transaction = counted

    class FailsOnFifth(MemoryBus):
        sent = 0

        async def publish(self, channel, message, key=None):
            if self.sent == 4:
                self.sent += 1
                raise ConnectionError("broker went away")
            self.sent += 1
            await super().publish(channel, message, key)

    bus, received = FailsOnFifth(), []
    bus.subscribe("ch", "g", lambda m: _append(received, m.data["n"]))
    await bus.start()
    relay = OutboxRelay(db, bus)
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert writes == 1, "the four rows sent are marked in one transaction"
    assert await relay.publish_pending() == 2, "the two unsent rows go in the next round"
    assert writes == 2
    await bus.drain()
    await bus.stop()
    await db.dispose()
    assert received == [0, 1, 2, 3, 4, 5]


async def test_a_pipelining_bus_gets_the_batch_in_one_call_and_only_its_confirmed_prefix_is_marked(tmp_path):
    from mybroker.bus import PublishIncomplete

    db, _account = _database(tmp_path)
    await db.create_schema()
    for n in range(6):
        async with db.transaction() as tx:
            await tx.emit("ch", Envelope("T", {"n": n}))

    class Pipelining:
        """Takes runs whole; the first run fails after its third message."""

        def __init__(self):
            self.runs: list[list[int]] = []

        async def publish_many(self, messages):
            self.runs.append([message.data["n"] for _channel, message, _key in messages])
            if len(self.runs) == 1:
                raise PublishIncomplete(3) from ConnectionError("broker went away")

    bus = Pipelining()
    relay = OutboxRelay(db, bus)
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert await relay.publish_pending() == 3, "the three unconfirmed rows go again"
    assert await relay.publish_pending() == 0
    await db.dispose()
    assert bus.runs == [[0, 1, 2, 3, 4, 5], [3, 4, 5]]


async def test_relay_crash_between_publish_and_mark_is_absorbed_by_the_inbox(tmp_path):
    db, account = _database(tmp_path)
    await db.create_schema()
    async with db.transaction() as tx:
        await tx.emit("ch", Envelope("T", {"n": 1}))

    class CrashAfterPublish(MemoryBus):
        crashes = 1

        async def publish(self, channel, message, key=None):
            await super().publish(channel, message, key)
            if self.crashes:
                self.crashes -= 1
                raise ConnectionError("relay died before marking the row")

    bus = CrashAfterPublish()
    applied = []

    async def consumer(message: Envelope) -> None:
        async with db.transaction() as tx:
            if await tx.first_time("consumer", message.id):
                applied.append(message.data["n"])

    bus.subscribe("ch", "g", consumer)
    await bus.start()
    relay = OutboxRelay(db, bus)
    try:
        await relay.publish_pending()
    except ConnectionError:
        pass
    assert await relay.publish_pending() == 1  # the unmarked row goes again
    await bus.drain()
    await bus.stop()
    await db.dispose()
    assert applied == [1]


async def test_live_feed_fans_out_and_drops_the_oldest_for_slow_subscribers():
    bus = MemoryBus()
    feed = LiveFeed(bus, "quotes", capacity=3)
    await bus.start()
    everything = feed.subscribe().__aiter__()
    only_even = feed.subscribe(lambda m: m.data["n"] % 2 == 0).__aiter__()
    pending = [asyncio.ensure_future(everything.__anext__()), asyncio.ensure_future(only_even.__anext__())]
    await asyncio.sleep(0)  # both subscribers are registered now
    for n in range(10):
        await bus.publish("quotes", Envelope("Q", {"n": n}))
    await bus.drain()  # nobody read meanwhile: each buffer kept only its newest three
    first_all, first_even = [(await task).data["n"] for task in pending]
    assert [first_all] + [(await everything.__anext__()).data["n"] for _ in range(2)] == [7, 8, 9]
    assert [first_even] + [(await only_even.__anext__()).data["n"] for _ in range(2)] == [4, 6, 8]
    assert feed.dropped == (10 - 3) + (5 - 3)
    await everything.aclose()
    await only_even.aclose()
    assert feed.subscribers == 0
    await bus.stop()


async def test_overlapping_relay_batches_publish_each_row_once(tmp_path):
    db, _account = _database(tmp_path)
    await db.create_schema()
    for n in range(10):
        async with db.transaction() as tx:
            await tx.emit("ch", Envelope("T", {"n": n}))
    bus, received = MemoryBus(), []
    bus.subscribe("ch", "g", lambda m: _append(received, m.data["n"]))
    await bus.start()
    relay = OutboxRelay(db, bus)
    await asyncio.gather(relay.publish_pending(), relay.publish_pending(), relay.publish_pending())
    await bus.drain()
    await bus.stop()
    await db.dispose()
    assert received == list(range(10))


async def test_stop_ends_workers_even_when_a_handler_swallows_the_cancellation():
    bus = MemoryBus()
    entered = asyncio.Event()

    async def swallowing_handler(message: Envelope) -> None:
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # as some client libraries do: the worker would go back to queue.get()

    bus.subscribe("ch", "g", swallowing_handler)
    await bus.start()
    await bus.publish("ch", Envelope("T", {}))
    await entered.wait()
    await asyncio.wait_for(bus.stop(), timeout=5)
