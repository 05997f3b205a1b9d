"""The live fan-out (mybroker.live) on the in-memory bus: broadcaster's Broadcast over
BusLiveBackend, one bounded buffer per subscriber."""
from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.events import MARKET_DATA, ORDER_EVENTS, ORDER_UPDATED, QUOTE, Envelope
from mybroker.live import LiveFeed, LiveHub, create_live_backend
from mybroker.live_bus import BusLiveBackend
from mybroker.live_event import LiveEvent, TopicRefs
from mybroker.service import Infrastructure
from mybroker.settings import Settings


async def until(condition, timeout: float = 2.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(0.005)


def quote(ticker: str, price: str = "31.40") -> Envelope:
    return Envelope(QUOTE, {"ticker": ticker, "price": price})


class Collector:
    """Reads a subscription in the background into `received`."""

    def __init__(self, feed: LiveFeed, accepts=None):
        self.received: list[Envelope] = []
        stream = feed.subscribe(accepts) if accepts else feed.subscribe()
        self.task = asyncio.create_task(self._read(stream))

    async def _read(self, stream) -> None:
        async with aclosing(stream) as messages:
            async for message in messages:
                self.received.append(message)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def bus():
    bus = MemoryBus()

    async def ignore(_message: Envelope) -> None:
        pass

    # A running platform's bus: MemoryBus starts a group subscribed after start() only
    # when it already runs workers, so give it one, as every service does.
    bus.subscribe("unrelated", "some-service", ignore)
    await bus.start()
    yield bus
    await bus.stop()


async def publish(bus: MemoryBus, channel: str, *messages: Envelope) -> None:
    for message in messages:
        await bus.publish(channel, message)
    await bus.drain()


async def test_every_subscriber_gets_every_message_published_after_it_subscribed(bus):
    feed = LiveFeed(bus, MARKET_DATA)
    await publish(bus, MARKET_DATA, quote("EARLY3"))  # before anyone listens: nobody sees it
    first, second = Collector(feed), Collector(feed)
    await until(lambda: feed.subscribers == 2)
    await publish(bus, MARKET_DATA, quote("PETR4"), quote("VALE3"))
    await until(lambda: len(first.received) == len(second.received) == 2)
    assert [m.data["ticker"] for m in first.received] == ["PETR4", "VALE3"]
    assert [m.id for m in first.received] == [m.id for m in second.received]
    await first.stop()
    await second.stop()
    await feed.close()


async def test_filters_pick_per_subscriber(bus):
    feed = LiveFeed(bus, ORDER_EVENTS)
    alice = Collector(feed, lambda m: m.type == ORDER_UPDATED and m.data.get("userId") == "alice")
    bob = Collector(feed, lambda m: m.type == ORDER_UPDATED and m.data.get("userId") == "bob")
    await until(lambda: feed.subscribers == 2)
    await publish(
        bus,
        ORDER_EVENTS,
        Envelope(ORDER_UPDATED, {"orderId": "a1", "userId": "alice"}),
        Envelope(ORDER_UPDATED, {"orderId": "b1", "userId": "bob"}),
        Envelope("SomethingElse", {"orderId": "a2", "userId": "alice"}),
        Envelope(ORDER_UPDATED, {"orderId": "a3", "userId": "alice"}),
    )
    await until(lambda: len(alice.received) == 2 and len(bob.received) == 1)
    await asyncio.sleep(0.02)  # nothing else arrives
    assert [m.data["orderId"] for m in alice.received] == ["a1", "a3"]
    assert [m.data["orderId"] for m in bob.received] == ["b1"]
    await alice.stop()
    await bob.stop()
    await feed.close()


async def test_a_full_buffer_drops_the_oldest_and_counts_it_without_holding_up_others(bus):
    feed = LiveFeed(bus, MARKET_DATA, capacity=3)
    slow = feed.subscribe()  # subscribed, then never read while the burst arrives
    first = asyncio.create_task(slow.__anext__())
    fast = Collector(feed)
    await until(lambda: feed.subscribers == 2)
    await publish(bus, MARKET_DATA, quote("T0"))
    assert (await asyncio.wait_for(first, 2)).data["ticker"] == "T0"

    for i in range(1, 11):  # at the pace the fast subscriber reads
        await publish(bus, MARKET_DATA, quote(f"T{i}"))
        await until(lambda: len(fast.received) == i + 1, what="the fast subscriber keeps up")  # noqa: B023 - awaited within its iteration
    assert feed.dropped == 7  # the slow one: 10 arrived, 3 fit
    # The slow subscriber keeps the newest three, in order.
    assert [(await slow.__anext__()).data["ticker"] for _ in range(3)] == ["T8", "T9", "T10"]
    await slow.aclose()
    await fast.stop()
    await feed.close()


async def test_unsubscribing_releases_the_topic_and_keeps_the_others_flowing(bus):
    feed = LiveFeed(bus, MARKET_DATA)
    backend = feed.hub.backend
    assert isinstance(backend, BusLiveBackend)
    staying, leaving = Collector(feed), Collector(feed)
    await until(lambda: feed.subscribers == 2)
    assert MARKET_DATA in backend.topics
    await leaving.stop()
    await until(lambda: feed.subscribers == 1)
    await publish(bus, MARKET_DATA, quote("PETR4"))
    await until(lambda: len(staying.received) == 1)
    assert MARKET_DATA in backend.topics
    await staying.stop()
    await until(lambda: feed.subscribers == 0)
    assert MARKET_DATA not in backend.topics  # the last one out released it
    await publish(bus, MARKET_DATA, quote("VALE3"))  # dropped at the backend, nobody wants it
    assert backend._events.empty()
    await feed.close()


async def test_subscribers_arriving_together_all_receive(bus):
    # Broadcast registers "the first subscriber of a channel" around backend.subscribe:
    # the backend must not yield there, or one of these would be lost.
    feed = LiveFeed(bus, MARKET_DATA)
    readers = [Collector(feed) for _ in range(5)]
    await until(lambda: feed.subscribers == 5)
    await publish(bus, MARKET_DATA, quote("PETR4"))
    await until(lambda: all(len(r.received) == 1 for r in readers))
    for reader in readers:
        await reader.stop()
    await feed.close()


async def test_a_message_that_is_not_an_envelope_is_skipped(bus):
    feed = LiveFeed(bus, MARKET_DATA)
    reader = Collector(feed)
    await until(lambda: feed.subscribers == 1)
    backend = feed.hub.backend
    backend._events.put_nowait(LiveEvent(MARKET_DATA, "not json"))
    await publish(bus, MARKET_DATA, quote("PETR4"))
    await until(lambda: len(reader.received) == 1)
    assert reader.received[0].data["ticker"] == "PETR4"
    await reader.stop()
    await feed.close()


async def test_a_filter_that_raises_skips_that_message_only(bus):
    feed = LiveFeed(bus, MARKET_DATA)
    reader = Collector(feed, lambda m: m.data["ticker"].startswith("P"))  # KeyError without a ticker
    await until(lambda: feed.subscribers == 1)
    await publish(bus, MARKET_DATA, Envelope(QUOTE, {}), quote("PETR4"))
    await until(lambda: len(reader.received) == 1)
    await reader.stop()
    await feed.close()


async def test_closing_the_feed_ends_its_subscriptions_and_disconnects_the_hub(bus):
    feed = LiveFeed(bus, MARKET_DATA)
    reader = Collector(feed)
    await until(lambda: feed.subscribers == 1)
    assert feed.hub.connected
    await feed.close()
    await asyncio.wait_for(reader.task, 2)  # the subscription ended by itself
    assert feed.subscribers == 0 and not feed.hub.connected
    assert [m async for m in feed.subscribe()] == []  # a closed feed streams nothing
    live_tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("live:")]
    assert live_tasks == []


async def test_one_hub_per_process_serves_every_feed_and_closes_after_the_last(bus):
    infra = Infrastructure(Settings.from_env(env={}), bus, MemoryCache())
    quotes, orders = infra.live_feed(MARKET_DATA), infra.live_feed(ORDER_EVENTS)
    assert quotes.hub is orders.hub is infra.live
    a, b = Collector(quotes), Collector(orders)
    await until(lambda: quotes.subscribers == orders.subscribers == 1)
    await publish(bus, MARKET_DATA, quote("PETR4"))
    await publish(bus, ORDER_EVENTS, Envelope(ORDER_UPDATED, {"orderId": "o1", "userId": "u"}))
    await until(lambda: len(a.received) == len(b.received) == 1)
    assert a.received[0].type == QUOTE and b.received[0].type == ORDER_UPDATED
    await orders.close()
    assert infra.live.connected  # the quotes feed still uses it
    await quotes.close()
    assert not infra.live.connected
    await a.stop()
    await b.stop()


async def test_a_feed_subscribes_before_the_bus_starts():
    bus = MemoryBus()
    feed = LiveFeed(bus, MARKET_DATA)  # as services are built: before bus.start()
    await bus.start()
    try:
        reader = Collector(feed)
        await until(lambda: feed.subscribers == 1)
        await publish(bus, MARKET_DATA, quote("PETR4"))
        await until(lambda: len(reader.received) == 1)
        await reader.stop()
        await feed.close()
    finally:
        await bus.stop()


def test_the_backend_follows_the_bus_setting():
    assert isinstance(create_live_backend(Settings.from_env(env={}), MemoryBus()), BusLiveBackend)
    settings = Settings.from_env(env={}).with_overrides(bus="brokers", kafka_bootstrap="kafka:9092", channel_namespace="run1.")
    backend = create_live_backend(settings, MemoryBus())
    assert type(backend).__name__ == "KafkaLiveBackend"
    assert (backend.bootstrap, backend.namespace) == ("kafka:9092", "run1.")


def test_topic_references_count():
    refs = TopicRefs()
    assert refs.add("t") is True and refs.add("t") is False
    assert refs.remove("t") is False and "t" in refs
    assert refs.remove("t") is True and "t" not in refs
    assert refs.remove("t") is False  # unknown: ignored


def test_a_buffer_holds_at_least_one_message():
    with pytest.raises(ValueError):
        LiveFeed(MemoryBus(), MARKET_DATA, capacity=0)


async def test_the_hub_reconnects_after_closing(bus):
    hub = LiveHub(BusLiveBackend(bus))
    feed = hub.feed(MARKET_DATA)
    reader = Collector(feed)
    await until(lambda: feed.subscribers == 1)
    await reader.stop()
    await hub.close()
    again = Collector(feed)  # the next subscription connects it again
    await until(lambda: feed.subscribers == 1 and hub.connected)
    await publish(bus, MARKET_DATA, quote("PETR4"))
    await until(lambda: len(again.received) == 1)
    await again.stop()
    await feed.close()


async def test_the_benchmark_delivers_every_accepted_message_once():
    from bench.live_fanout import run

    result = await run(subscribers=6, messages=60, tickers=3)
    assert result["deliveries"] == 6 * 20 and result["dropped"] == 0
