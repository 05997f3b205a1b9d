"""Group commit in b3sim.worker.ExchangeWorker: commands in flight together reach the core
and the journal in arrival order, share commits, and a handler returns (its message is
acknowledged) only once its command is committed. A batch whose commit fails is retried
as it was, with the core held still, so the journal ends up holding exactly what the core
applied, once."""
from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select

from b3sim.journal import Journal, journal_commands, metadata, outbox
from b3sim.worker import ExchangeWorker
from mybroker.db import Database
from mybroker.events import CANCEL_ORDER, EXCHANGE_ORDERS, Envelope
from tests.unit.b3sim.conftest import Clock, books, limit, new_core, quote, until


class CountingJournal(Journal):
    """Counts batches. Set `broken` and every commit fails until it is cleared, the first
    one after its transaction committed (the outcome a lost connection leaves unknown)."""

    def __init__(self, db: Database):
        super().__init__(db)
        self.batches: list[int] = []
        self.broken = False
        self.failed = 0

    async def write_batch(self, entries):
        if self.broken:
            self.failed += 1
            if self.failed == 1:
                await super().write_batch(entries)  # committed, yet the caller sees an error
            raise ConnectionError("journal unreachable")
        written = await super().write_batch(entries)
        self.batches.append(len(entries))
        return written


async def worker_on(db: Database) -> tuple[ExchangeWorker, CountingJournal]:
    journal = CountingJournal(db)
    worker = ExchangeWorker(None, journal, clock=Clock())
    await worker.recover(new_core)
    return worker, journal


async def journaled(db: Database) -> tuple[list[str], list[tuple[str, str]]]:
    async with db.read() as session:
        ids = (await session.execute(select(journal_commands.c.message_id).order_by(journal_commands.c.seq))).scalars().all()
        payloads = (await session.execute(select(outbox.c.payload).where(outbox.c.channel == "broker.executions").order_by(outbox.c.seq))).scalars().all()
    reports = [Envelope.from_bytes(raw).data for raw in payloads]
    return list(ids), [(r["orderId"], r["execType"]) for r in reports]


def arrive(worker: ExchangeWorker, messages: list[Envelope]) -> list[asyncio.Task]:
    """Deliveries in flight together, started in arrival order (as the buses start them)."""
    return [asyncio.create_task(worker.on_exchange_order(m)) for m in messages]


async def test_commands_in_flight_share_commits_in_arrival_order(journal_db):
    worker, journal = await worker_on(journal_db)
    await worker.on_market_data(quote("31.40"))  # a reference price: LIMIT orders are accepted
    messages = [limit(f"o{i}", "SELL" if i % 2 == 0 else "BUY", "31.00") for i in range(40)]
    messages.append(Envelope(CANCEL_ORDER, {"orderId": "o0", "ticker": "PETR4"}))  # o0 traded already
    await asyncio.gather(*arrive(worker, messages))

    ids, reports = await journaled(journal_db)
    # The quote each first NewOrder met is journaled just before it; then arrival order.
    assert ids[1:] == [m.id for m in messages] and ids[0] != messages[0].id
    assert len(journal.batches) < len(messages) / 4, f"few commits for many commands: {journal.batches}"
    accepted = Counter(order for order, kind in reports if kind == "ACCEPTED")
    assert accepted == {f"o{i}": 1 for i in range(40)}
    assert Counter(kind for _, kind in reports)["FILL"] > 20  # orders traded (with the maker and each other)
    assert worker._uncommitted == {} and worker._pending == []

    # The journal replays into the very same books.
    rebuilt = ExchangeWorker(None, journal, clock=Clock())
    await rebuilt.recover(new_core)
    assert books(rebuilt.exchange) == books(worker.exchange)


async def test_a_failed_batch_is_not_acknowledged_and_is_retried_with_the_core_held(journal_db):
    worker, journal = await worker_on(journal_db)
    worker.RETRY_DELAY = worker.MAX_RETRY_DELAY = 0.01
    journal.broken = True
    reference = quote("31.40")
    await worker.on_market_data(quote("31.40"))  # not journaled: it changed nothing a broker sees
    await worker.on_market_data(reference)  # the latest: journaled just before the first order
    sells = [limit(f"a{i}", "SELL", "32.00") for i in range(5)]
    first = arrive(worker, sells)
    await until(lambda: journal.failed >= 3)  # failed after committing, then failed again: held
    assert not any(task.done() for task in first), "nothing acknowledged while its batch is not known committed"
    core_before = books(worker.exchange)
    buy_and_repeat = [limit("b0", "BUY", "32.00"), limit("a0", "SELL", "32.00")]  # a0 again: a new message, same order id
    later = arrive(worker, buy_and_repeat)
    failed = journal.failed
    await until(lambda: journal.failed >= failed + 3)
    assert not any(task.done() for task in first + later)
    assert books(worker.exchange) == core_before, "nothing reaches the core while a batch is failing"

    journal.broken = False
    await asyncio.wait_for(asyncio.gather(*first, *later), 5)
    ids, reports = await journaled(journal_db)
    # Every command once (though the first failed commit went through), in arrival order.
    assert ids == [reference.id] + [m.id for m in sells + buy_and_repeat]
    # One ACCEPTED each, b0 fills against the maker's ask, and the repeated a0 is a no-op.
    assert reports == [(f"a{i}", "ACCEPTED") for i in range(5)] + [("b0", "ACCEPTED"), ("b0", "FILL")]
    rebuilt = ExchangeWorker(None, journal, clock=Clock())
    await rebuilt.recover(new_core)
    assert books(rebuilt.exchange) == books(worker.exchange)


async def test_the_service_consumes_orders_concurrently_in_arrival_order(start_service, service_settings):
    bus, service, _reports = await start_service()
    try:
        assert bus._concurrency[(EXCHANGE_ORDERS, "b3-sim")] > 1
        messages = [limit(f"o{i}", "SELL" if i % 2 == 0 else "BUY", "20.00", ticker=("PETR4", "VALE3")[i // 2 % 2]) for i in range(60)]
        for message in messages:
            await bus.publish(EXCHANGE_ORDERS, message, key=message.data["ticker"])
        await bus.drain()
    finally:
        await bus.stop()
        await service.stop()
    db = Database(service_settings.database_url("b3-sim"), metadata)
    ids, reports = await journaled(db)
    assert ids == [m.id for m in messages]
    assert Counter(order for order, kind in reports if kind in ("ACCEPTED", "REJECTED")) == {f"o{i}": 1 for i in range(60)}
    await db.dispose()
