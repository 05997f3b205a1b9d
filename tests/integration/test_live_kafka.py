"""The live fan-out on real Kafka: broadcaster's Broadcast over KafkaLiveBackend."""
from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

from mybroker.bus.brokers import BrokerBus
from mybroker.bus.kafka import KafkaBus
from mybroker.events import QUOTE, Envelope
from mybroker.live import LiveFeed, LiveHub
from mybroker.live_kafka import KafkaLiveBackend
from tests.integration.support import unique, until

CHANNEL = "quotes-v1"
OTHER = "orders-v1"


class Collector:
    def __init__(self, feed: LiveFeed):
        self.received: list[str] = []
        self.task = asyncio.create_task(self._read(feed))

    async def _read(self, feed: LiveFeed) -> None:
        async with aclosing(feed.subscribe()) as messages:
            async for message in messages:
                self.received.append(message.data["n"])

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest_asyncio.fixture
async def namespace(settings):
    """A fresh namespace per test, its topics made up front (3 partitions, as the bus does)."""
    ns = unique("it-live") + "."
    topics = [ns + CHANNEL, ns + OTHER]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in topics])
        yield ns
        await admin.delete_topics(topics)
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def producer(settings):
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


@pytest_asyncio.fixture
async def hub(settings, namespace):
    backend = KafkaLiveBackend(settings.kafka_bootstrap, namespace=namespace, poll_timeout=0.1, backoff_initial=0.3)
    hub = LiveHub(backend)
    yield hub
    await hub.close()


async def send(producer: AIOKafkaProducer, topic: str, n: str) -> None:
    # One key: one partition, so the test can speak of "before" and "after".
    await producer.send_and_wait(topic, Envelope(QUOTE, {"n": n}).to_bytes(), key=b"k")


async def test_a_subscriber_sees_what_is_published_after_it_subscribed_and_not_before(hub, namespace, producer):
    topic = namespace + CHANNEL
    await send(producer, topic, "before")
    await asyncio.sleep(0.01)  # record times are in milliseconds: leave this one's behind
    feed = hub.feed(CHANNEL)
    reader = Collector(feed)
    await until(lambda: feed.subscribers == 1)
    await send(producer, topic, "after-1")  # likely before the consumer is even assigned
    await send(producer, topic, "after-2")
    await until(lambda: len(reader.received) >= 2, what="the messages published after subscribing")
    assert reader.received == ["after-1", "after-2"]
    await reader.stop()
    await feed.close()


async def test_two_subscribers_share_one_consumer_and_one_leaving_keeps_the_other_flowing(hub, namespace, producer):
    topic = namespace + CHANNEL
    feed = hub.feed(CHANNEL)
    staying, leaving = Collector(feed), Collector(feed)
    await until(lambda: feed.subscribers == 2)
    await send(producer, topic, "1")
    await until(lambda: staying.received == leaving.received == ["1"], what="both receive")
    backend: KafkaLiveBackend = hub.backend
    assert backend.sessions == 1
    assert sorted(tp.partition for tp in backend.consumer.assignment()) == [0, 1, 2]  # each partition once

    await leaving.stop()
    await until(lambda: feed.subscribers == 1)
    assert topic in backend.topics
    await send(producer, topic, "2")
    await until(lambda: staying.received == ["1", "2"], what="the other keeps receiving")
    assert leaving.received == ["1"] and backend.sessions == 1
    await staying.stop()
    await feed.close()


async def test_one_consumer_adds_and_removes_topics_by_reference(hub, namespace, producer):
    backend: KafkaLiveBackend = hub.backend
    quotes, orders = hub.feed(CHANNEL), hub.feed(OTHER)
    q, o = Collector(quotes), Collector(orders)
    await until(lambda: quotes.subscribers == orders.subscribers == 1)
    await send(producer, namespace + CHANNEL, "q1")
    await send(producer, namespace + OTHER, "o1")
    await until(lambda: q.received == ["q1"] and o.received == ["o1"], what="both topics through one consumer")
    assert {tp.topic for tp in backend.consumer.assignment()} == {namespace + CHANNEL, namespace + OTHER}

    await o.stop()
    await until(lambda: {tp.topic for tp in backend.consumer.assignment()} == {namespace + CHANNEL}, what="topic released")
    await send(producer, namespace + CHANNEL, "q2")
    await until(lambda: q.received == ["q1", "q2"])
    assert backend.sessions == 1
    await q.stop()
    await until(lambda: not backend.topics and not backend.consumer.assignment(), what="every topic released")
    assert backend.sessions == 1  # the consumer stays, idle, for the next subscription
    await quotes.close()
    await orders.close()


async def test_the_backend_recovers_after_its_consumer_fails(hub, namespace, producer):
    topic = namespace + CHANNEL
    backend: KafkaLiveBackend = hub.backend
    feed = hub.feed(CHANNEL)
    reader = Collector(feed)
    await until(lambda: feed.subscribers == 1)
    await send(producer, topic, "1")
    await until(lambda: reader.received == ["1"])

    async def broken(*_args, **_kwargs):
        raise KafkaConnectionError("simulated: the broker went away")

    backend.consumer.getmany = broken  # this consumer instance only
    await until(lambda: backend.failures == 1, what="the failure is seen")
    await send(producer, topic, "2")  # published while the backend is down or reconnecting
    await until(lambda: backend.sessions == 2, what="a new consumer")
    await send(producer, topic, "3")
    await until(lambda: reader.received == ["1", "2", "3"], what="nothing lost, nothing repeated")
    await reader.stop()
    await feed.close()


async def test_topics_are_named_as_the_bus_names_them(settings, hub, namespace):
    """A message published through BrokerBus with the namespace reaches the live feed."""
    kafka = KafkaBus(settings.kafka_bootstrap, topics=())
    bus = BrokerBus(kafka, kafka, queues=(), namespace=namespace)
    feed = hub.feed(CHANNEL)
    reader = Collector(feed)
    try:
        await until(lambda: feed.subscribers == 1)
        await until(lambda: hub.backend.consumer is not None and hub.backend.consumer.assignment(), what="assigned")
        await bus.publish(CHANNEL, Envelope(QUOTE, {"n": "via-bus"}), key="k")
        await until(lambda: reader.received == ["via-bus"])
    finally:
        await reader.stop()
        await feed.close()
        await kafka.stop()


async def test_nothing_is_left_running_after_disconnect(hub, namespace, producer):
    backend: KafkaLiveBackend = hub.backend
    feed = hub.feed(CHANNEL)
    reader = Collector(feed)
    await until(lambda: backend.consumer is not None and backend.consumer.assignment(), what="assigned")
    await backend.publish(CHANNEL, Envelope(QUOTE, {"n": "published-by-the-backend"}))
    await until(lambda: reader.received == ["published-by-the-backend"])
    consumer = backend.consumer
    await feed.close()  # the hub's last feed: it disconnects
    await asyncio.wait_for(reader.task, 5)  # the subscription ended
    assert not hub.connected and backend.consumer is None and backend._producer is None
    assert consumer._closed  # the aiokafka consumer was stopped, not abandoned
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("live:")]


async def test_a_topic_created_after_the_subscription_is_picked_up(settings, namespace, producer):
    backend = KafkaLiveBackend(settings.kafka_bootstrap, namespace=namespace, poll_timeout=0.1, metadata_retry=0.2)
    hub = LiveHub(backend)
    quotes, later = hub.feed(CHANNEL), hub.feed("later-v1")
    q, l = Collector(quotes), Collector(later)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await until(lambda: backend.consumer is not None and backend.consumer.assignment(), what="the existing topic assigned")
        await send(producer, namespace + CHANNEL, "q1")  # the missing topic does not hold the other up
        await until(lambda: q.received == ["q1"])
        await admin.create_topics([NewTopic(namespace + "later-v1", num_partitions=3, replication_factor=1)])
        await until(lambda: namespace + "later-v1" in {tp.topic for tp in backend.consumer.assignment()}, what="found")
        await send(producer, namespace + "later-v1", "l1")
        await until(lambda: l.received == ["l1"])
    finally:
        await q.stop()
        await l.stop()
        await quotes.close()
        await later.close()
        await admin.delete_topics([namespace + "later-v1"])
        await admin.close()
