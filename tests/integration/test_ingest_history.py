"""Market data on the real engines: every published quote reaches Kafka and MongoDB, a
quote recorded twice is stored once, and a recorded day replays from it. Each test has
its own database and topic namespace."""
from __future__ import annotations

import io
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest_asyncio

from ingest.export import export
from ingest.feed import FeedRunner, QuotePublisher
from ingest.history import HistoryRecorder, MongoHistory
from mybroker.bus.brokers import BrokerBus
from mybroker.cache import MemoryCache
from mybroker.events import MARKET_DATA, QUOTE, Envelope
from mybroker.service import Infrastructure
from tests.integration.support import until
from tests.support.fake_brapi import FakeBrapi

DAY = datetime(2025, 3, 10, tzinfo=timezone.utc)


def quote(ticker: str, at: datetime, price: str, volume: int) -> dict:
    return {"ticker": ticker, "price": price, "change": "0.10", "changePercent": 0.32, "volume": volume,
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "source": "test"}


@pytest_asyncio.fixture
async def isolated(settings):
    """Settings with a fresh MongoDB database and Kafka namespace; both removed afterwards."""
    run = uuid.uuid4().hex[:8]
    mine = settings.with_overrides(mongodb_database=f"mybroker_it_{run}", channel_namespace=f"it-ingest-{run}.", history="mongodb")
    yield mine
    from aiokafka.admin import AIOKafkaAdminClient
    from pymongo import AsyncMongoClient

    client = AsyncMongoClient(mine.mongodb_url)
    try:
        await client.drop_database(mine.mongodb_database)
    finally:
        await client.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=mine.kafka_bootstrap)
    await admin.start()
    try:
        topics = await admin.list_topics()
        await admin.delete_topics([t for t in topics if t.startswith(mine.channel_namespace)])
    except Exception:  # noqa: BLE001 - best effort, never fails the test it follows
        pass
    finally:
        await admin.close()


class Consumer:
    def __init__(self, bus: BrokerBus, group: str = "it-ingest"):
        self.quotes: list[dict] = []
        bus.subscribe(MARKET_DATA, group, self.on_message)

    async def on_message(self, message: Envelope) -> None:
        if message.type == QUOTE:
            self.quotes.append(message.data)


async def test_a_round_published_twice_reaches_kafka_twice_and_mongodb_once(isolated):
    class SameRoundTwice:  # what a retried round looks like: the same (ticker, time) again
        async def next_round(self, now):
            return [quote("PETR4", DAY.replace(hour=13), "31.40", 100), quote("VALE3", DAY.replace(hour=13), "60.00", 50)]

    bus = BrokerBus.from_settings(isolated)
    consumer = Consumer(bus)
    history = MongoHistory(isolated.mongodb_url, isolated.mongodb_database)
    recorder = HistoryRecorder(history)
    runner = FeedRunner(SameRoundTwice(), QuotePublisher(bus), interval=60, recorder=recorder)
    await bus.start()
    await recorder.start()
    try:
        await runner.run_round()
        await runner.run_round()
        await recorder.flush()
        await until(lambda: len(consumer.quotes) >= 4, what="4 quotes on Kafka")
        assert sorted(q["ticker"] for q in consumer.quotes) == ["PETR4", "PETR4", "VALE3", "VALE3"]
        assert await history.collection.count_documents({}) == 2
        stored = await history.collection.find_one({"ticker": "PETR4"})
        assert stored["price"].to_decimal() == Decimal("31.40") and stored["time"] == DAY.replace(hour=13)
        assert recorder.recorded == 4 and recorder.failed == 0
    finally:
        await recorder.stop()
        await bus.stop()


async def test_brapi_quotes_reach_kafka_and_mongodb_through_the_ingest_service(isolated):
    from ingest.app import create_service

    async with FakeBrapi() as brapi:
        brapi.add("VALE3", regularMarketPrice=60.5)
        settings = isolated.with_overrides(market_source="brapi", brapi_url=brapi.url, brapi_tickers=("PETR4", "VALE3"))
        bus = BrokerBus.from_settings(settings)
        consumer = Consumer(bus)
        service = create_service(Infrastructure(settings, bus, MemoryCache()))
        await bus.start()
        try:
            await service.start()  # the first round at once
            await until(lambda: len(consumer.quotes) >= 2, what="2 quotes on Kafka")
        finally:
            await service.stop()  # flushes the recorder
            await bus.stop()
    assert sorted((q["ticker"], q["price"], q["source"]) for q in consumer.quotes) == [("PETR4", "31.42", "brapi"), ("VALE3", "60.50", "brapi")]
    history = MongoHistory(settings.mongodb_url, settings.mongodb_database)
    try:
        assert await history.collection.count_documents({"source": "brapi"}) == 2
    finally:
        await history.close()


def session_ticks() -> list[dict]:
    """PETR4 on two days: a busy 13:00-13:02 on the 10th, and two ticks on the 12th."""
    rows = [
        (DAY.replace(hour=13, minute=0, second=5), "31.50", 1000),
        (DAY.replace(hour=13, minute=0, second=40), "31.70", 1400),
        (DAY.replace(hour=13, minute=1, second=10), "31.20", 1900),
        (DAY.replace(hour=13, minute=2, second=0), "31.30", 2500),
        (DAY.replace(hour=14, minute=0, second=0), "31.90", 4000),
        (DAY.replace(hour=13) + timedelta(days=2), "32.10", 300),
        (DAY.replace(hour=13, minute=0, second=30) + timedelta(days=2), "32.00", 800),
    ]
    return [quote("PETR4", at, price, volume) for at, price, volume in rows]


async def test_a_recorded_day_exports_and_replays_from_mongodb(isolated):
    from ingest.app import create_service

    history = MongoHistory(isolated.mongodb_url, isolated.mongodb_database)
    await history.start()
    await history.record(session_ticks()[:2] + [quote("VALE3", DAY.replace(hour=13, minute=0, second=5), "60.00", 10)])
    out = io.StringIO()
    try:
        assert await export(history, out) == 3  # the latest recorded day, the 10th
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [(q["ticker"], q["time"], q["price"]) for q in lines] == [
            ("PETR4", "2025-03-10T13:00:05.000Z", "31.50"),
            ("VALE3", "2025-03-10T13:00:05.000Z", "60.00"),
            ("PETR4", "2025-03-10T13:00:40.000Z", "31.70"),
        ]
        assert await history.latest_day() == date(2025, 3, 10)
    finally:
        await history.close()

    # 35 s recorded at 350x: a tenth of a second.
    settings = isolated.with_overrides(market_source="replay", replay_from="mongodb:2025-03-10", replay_speed=350.0, history="none")
    bus = BrokerBus.from_settings(settings)
    consumer = Consumer(bus)
    service = create_service(Infrastructure(settings, bus, MemoryCache()))
    await bus.start()
    try:
        await service.start()
        await until(lambda: len(consumer.quotes) >= 3, what="the replayed session on Kafka")
    finally:
        await service.stop()
        await bus.stop()
    # Kafka keeps order per ticker (its key), not across tickers.
    played = sorted(consumer.quotes, key=lambda q: (q["time"], q["ticker"]))
    assert [(q["ticker"], q["price"], q["source"]) for q in played] == [
        ("PETR4", "31.50", "replay"), ("VALE3", "60.00", "replay"), ("PETR4", "31.70", "replay")
    ]
    first, last = (datetime.fromisoformat(played[i]["time"].replace("Z", "+00:00")) for i in (0, 2))
    assert last - first == timedelta(seconds=35 / 350)
