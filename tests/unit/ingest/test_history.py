"""Quote history: the in-memory and no-op stores, the Mongo document shape, and the
background recorder that keeps the feed independent of the archive."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ingest.feed import FeedRunner, QuotePublisher
from ingest.history import HistoryRecorder, MemoryHistory, MongoHistory, NoHistory, create_history, quote_document
from mybroker.bus.memory import MemoryBus
from mybroker.catalog import load_catalog
from mybroker.settings import Settings
from ingest.simulator import MarketSimulator

T = datetime(2025, 3, 10, 13, 0, tzinfo=timezone.utc)


def q(ticker: str, price: str = "31.40", time: str = "2025-03-10T13:00:00.000Z") -> dict:
    return {"ticker": ticker, "price": price, "change": "0.10", "changePercent": 0.32, "volume": 100, "time": time, "source": "test"}


async def test_memory_history_keeps_the_first_quote_per_ticker_and_time():
    history = MemoryHistory()
    await history.record([q("PETR4"), q("VALE3")])
    await history.record([q("PETR4", price="99.99")])  # the same (ticker, time) again
    assert len(history.quotes) == 2 and history.quotes[("PETR4", "2025-03-10T13:00:00.000Z")]["price"] == "31.40"


def test_the_stored_document_has_a_date_and_exact_money():
    from bson.decimal128 import Decimal128

    document = quote_document(q("PETR4"))
    assert document["time"] == T and document["ticker"] == "PETR4" and document["volume"] == 100
    assert document["price"] == Decimal128(Decimal("31.40")) and document["change"] == Decimal128(Decimal("0.10"))


def test_settings_choose_the_history():
    assert isinstance(create_history(Settings()), NoHistory)
    assert Settings.from_env(env={}).history == "none"
    assert Settings.from_env(env={"MYBROKER_INFRA": "real"}).history == "mongodb"
    history = create_history(Settings(history="mongodb", mongodb_url="mongodb://127.0.0.1:1"))  # connects lazily
    assert isinstance(history, MongoHistory)
    with pytest.raises(ValueError, match="unknown quote history"):
        create_history(Settings(history="files"))


class Failing(MemoryHistory):
    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures

    async def start(self) -> None:
        raise ConnectionError("store down at start")

    async def record(self, quotes):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store down")
        await super().record(quotes)


async def test_a_failed_write_is_counted_and_the_next_rounds_still_go_in():
    recorder = HistoryRecorder(Failing(failures=1))
    await recorder.start()  # a store down at start does not stop the service
    recorder.submit([q("PETR4")])
    recorder.submit([q("VALE3")])
    await recorder.flush()
    assert (recorder.failed, recorder.recorded) == (1, 1)
    assert list(recorder.history.quotes) == [("VALE3", "2025-03-10T13:00:00.000Z")]
    await recorder.stop()


async def test_a_store_that_falls_behind_loses_the_oldest_rounds_not_the_feed():
    class Slow(MemoryHistory):
        gate = asyncio.Event()

        async def record(self, quotes):
            await self.gate.wait()
            await super().record(quotes)

    history = Slow()
    recorder = HistoryRecorder(history, max_pending=2)
    await recorder.start()
    for minute in range(5):
        recorder.submit([q("PETR4", time=f"2025-03-10T13:0{minute}:00.000Z")])
        await asyncio.sleep(0)
    history.gate.set()
    await recorder.flush()
    assert recorder.dropped + recorder.recorded == 5 and recorder.dropped >= 2
    assert ("PETR4", "2025-03-10T13:04:00.000Z") in history.quotes  # the newest always survives
    await recorder.stop()


async def test_the_feed_records_each_published_round():
    bus = MemoryBus()
    history = MemoryHistory()
    recorder = HistoryRecorder(history)
    runner = FeedRunner(MarketSimulator(seed=1), QuotePublisher(bus), interval=60, clock=lambda: T, recorder=recorder)
    await bus.start()
    await recorder.start()
    await runner.start()
    await runner.stop()
    await recorder.stop()
    await bus.stop()
    assert sorted(ticker for ticker, _ in history.quotes) == sorted(e.ticker for e in load_catalog())


async def test_a_round_that_fails_halfway_records_what_went_out():
    class Flaky(QuotePublisher):
        async def publish(self, quote):
            if quote["ticker"] == "VALE3":
                raise ConnectionError("broker down")
            await super().publish(quote)

    class Two:
        async def next_round(self, now):
            return [q("PETR4"), q("VALE3")]

    history = MemoryHistory()
    recorder = HistoryRecorder(history)
    runner = FeedRunner(Two(), Flaky(MemoryBus()), interval=60, recorder=recorder)
    with pytest.raises(ConnectionError):
        await runner.run_round()
    await recorder.start()
    await recorder.flush()
    assert list(history.quotes) == [("PETR4", "2025-03-10T13:00:00.000Z")]
    await recorder.stop()


def test_a_stored_document_reads_back_as_the_published_quote():
    from ingest.history import quote_from_document

    published = q("PETR4", price="31.4")
    document = {"_id": "x", **quote_document(published)}
    assert quote_from_document(document) == {**published, "price": "31.40"}
