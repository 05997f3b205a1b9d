import asyncio
from datetime import datetime, timezone

from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.catalog import load_catalog
from mybroker.events import MARKET_DATA, QUOTE
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from ingest.app import create_service
from ingest.feed import FeedRunner, QuotePublisher
from ingest.simulator import MarketSimulator

T = datetime(2025, 3, 10, 13, 0, tzinfo=timezone.utc)


class Recorder:
    def __init__(self, bus: MemoryBus):
        self.messages = []
        bus.subscribe(MARKET_DATA, "test", self.on_message)

    async def on_message(self, message):
        self.messages.append(message)


async def test_start_publishes_a_first_round_at_once_keyed_by_ticker():
    bus = MemoryBus()
    recorder = Recorder(bus)
    keys = []
    publish = bus.publish

    async def keyed(channel, message, key=None):
        keys.append(key)
        await publish(channel, message, key)

    bus.publish = keyed
    runner = FeedRunner(MarketSimulator(seed=1), QuotePublisher(bus), interval=60, clock=lambda: T)
    await bus.start()
    await runner.start()
    await bus.drain()
    try:
        tickers = [e.ticker for e in load_catalog()]
        assert [m.data["ticker"] for m in recorder.messages] == tickers
        assert all(m.type == QUOTE and m.data["time"] == "2025-03-10T13:00:00.000Z" for m in recorder.messages)
        assert keys == tickers
    finally:
        await runner.stop()
        await bus.stop()


async def test_rounds_repeat_every_interval_until_stopped():
    bus = MemoryBus()
    recorder = Recorder(bus)
    runner = FeedRunner(MarketSimulator(seed=1), QuotePublisher(bus), interval=0.02)
    await bus.start()
    await runner.start()
    await asyncio.sleep(0.2)
    await runner.stop()
    rounds = runner.rounds
    assert rounds >= 3
    await asyncio.sleep(0.06)
    assert runner.rounds == rounds, "no round after stop"
    await bus.drain()
    assert len(recorder.messages) == rounds * len(load_catalog())
    await bus.stop()


def test_jitter_stays_small_and_is_reproducible():
    runner = FeedRunner(MarketSimulator(seed=1), QuotePublisher(MemoryBus()), interval=1.0, jitter=0.1, seed=3)
    delays = [runner.next_delay() for _ in range(200)]
    assert all(0.9 <= d <= 1.1 for d in delays) and len(set(delays)) > 100
    again = FeedRunner(MarketSimulator(seed=1), QuotePublisher(MemoryBus()), interval=1.0, jitter=0.1, seed=3)
    assert [again.next_delay() for _ in range(200)] == delays


async def test_a_failing_round_does_not_stop_the_feed():
    class Flaky:
        calls = 0

        async def next_round(self, now):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise ConnectionError("source down")
            return [{"ticker": "PETR4", "price": "31.40"}]

    bus = MemoryBus()
    recorder = Recorder(bus)
    runner = FeedRunner(Flaky(), QuotePublisher(bus), interval=0.01)
    await bus.start()
    await runner.start()  # the first round fails: start still succeeds
    await asyncio.sleep(0.1)
    await runner.stop()
    await bus.drain()
    assert Flaky.calls >= 2 and recorder.messages
    await bus.stop()


async def test_create_service_is_a_headless_worker_with_the_settings_seed(tmp_path):
    async def first_round(seed):
        bus = MemoryBus()
        recorder = Recorder(bus)
        settings = Settings.from_env(env={}, data_dir=tmp_path, tick_interval=60, market_seed=seed)
        service = create_service(Infrastructure(settings, bus, MemoryCache()))
        assert service.name == "ingest" and service.app is None
        await bus.start()
        await service.start()
        await bus.drain()
        await service.stop()
        await bus.stop()
        return [(m.data["ticker"], m.data["price"], m.data["volume"]) for m in recorder.messages]

    first = await first_round(11)
    assert len(first) == len(load_catalog())
    assert await first_round(11) == first


async def test_a_network_source_does_not_hold_up_start():
    class Gated:
        gate = asyncio.Event()

        async def next_round(self, now):
            await self.gate.wait()
            return [{"ticker": "PETR4", "price": "31.40"}]

    runner = FeedRunner(Gated(), QuotePublisher(MemoryBus()), interval=60, first_round_at_start=False)
    await asyncio.wait_for(runner.start(), 1.0)  # returns although the source has not answered
    assert runner.rounds == 0
    Gated.gate.set()
    for _ in range(100):
        if runner.rounds:
            break
        await asyncio.sleep(0.01)
    await runner.stop()
    assert runner.rounds == 1
