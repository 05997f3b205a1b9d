"""A message its handler keeps failing is parked in the DLQ after bounded retries, and the
messages behind it still flow."""
from __future__ import annotations

import asyncio

import aio_pika
from aiokafka import AIOKafkaConsumer

from mybroker.events import Envelope
from tests.integration.support import until


def failing_handler(attempts: list[str], handled: list[str]):
    async def handler(message: Envelope) -> None:
        if message.data.get("poison"):
            attempts.append(message.id)
            raise ValueError("cannot process")
        handled.append(message.id)

    return handler


async def test_kafka_poison_record_goes_to_the_topic_dlq(names, make_bus, settings):
    topic = names.topic
    attempts: list[str] = []
    handled: list[str] = []
    bus = make_bus(max_attempts=3)
    group = names.group()
    bus.subscribe(topic, group, failing_handler(attempts, handled))
    await bus.start()
    poison, good = Envelope("T", {"poison": True}), Envelope("T", {"n": 1})
    await bus.publish(topic, poison, key="same-partition")
    await bus.publish(topic, good, key="same-partition")
    await until(lambda: handled == [good.id], what="the message behind the poison handled")
    assert attempts == [poison.id] * 3

    consumer = AIOKafkaConsumer(topic + ".dlq", bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    headers = {name: value.decode() for name, value in record.headers}
    assert record.value == poison.to_bytes() and record.key == b"same-partition"
    assert "ValueError('cannot process')" in headers["x-error"]
    assert headers["x-original-topic"] == topic and headers["x-consumer-group"] == group


async def test_rabbitmq_poison_message_goes_to_the_queue_dlq(names, make_bus, settings):
    queue = names.queue
    attempts: list[str] = []
    handled: list[str] = []
    bus = make_bus(max_attempts=3)
    bus.subscribe(queue, names.group(), failing_handler(attempts, handled))
    await bus.start()
    poison, good = Envelope("T", {"poison": True}), Envelope("T", {"n": 1})
    await bus.publish(queue, poison, key="order-1")
    await bus.publish(queue, good, key="order-1")
    await until(lambda: handled == [good.id], what="the message behind the poison handled")
    assert attempts == [poison.id] * 3

    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.get_queue(queue + ".dlq", ensure=True)
        parked = None
        for _ in range(100):  # dead-lettering is asynchronous inside the broker
            parked = await dlq.get(fail=False, no_ack=True)
            if parked is not None:
                break
            await asyncio.sleep(0.02)
        assert parked is not None, "nothing in the DLQ"
        assert parked.body == poison.to_bytes() and parked.message_id == poison.id
        assert parked.headers["x-death"][0]["reason"] == "rejected"
        assert parked.headers["x-death"][0]["queue"] == queue
        assert await dlq.get(fail=False) is None  # only the poison
