"""`subscribe(..., concurrency=N)` on a RabbitMQ queue: up to N messages in the handler at
once, started in queue order, each acknowledged when its handler returns (nothing is
redelivered to the next consumer); the default stays one message at a time."""
from __future__ import annotations

import asyncio

import pytest

from mybroker.events import Envelope
from tests.integration.support import until


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_deliveries_start_in_queue_order_and_are_each_acked(concurrency, names, make_bus):
    queue = names.queue
    publisher = make_bus()
    await publisher.start()
    for n in range(40):
        await publisher.publish(queue, Envelope("T", {"n": n}), key="k")

    started: list[int] = []
    finished: list[int] = []
    in_flight = {"now": 0, "most": 0}

    async def handler(message: Envelope) -> None:
        started.append(message.data["n"])  # before any suspension: the start order
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        await asyncio.sleep(0.02 if message.data["n"] % 2 else 0.05)  # finishing out of order
        in_flight["now"] -= 1
        finished.append(message.data["n"])

    consumer = make_bus()
    consumer.subscribe(queue, names.group(), handler, concurrency=concurrency)
    await consumer.start()
    await until(lambda: len(finished) >= 40, what="40 handled")
    await consumer.stop()
    assert started == list(range(40))
    assert in_flight["most"] == concurrency
    assert sorted(finished) == list(range(40))

    # Every message was acknowledged: a new consumer of the queue gets nothing.
    again: list[int] = []

    async def count(message: Envelope) -> None:
        again.append(message.data["n"])

    late = make_bus()
    late.subscribe(queue, names.group(), count, concurrency=concurrency)
    await late.start()
    await asyncio.sleep(1.0)
    assert again == []


@pytest.mark.parametrize("per_key", [False, True])
async def test_kafka_handles_a_batch_at_once_keeps_each_keys_order_and_commits(per_key, names, make_bus):
    """On Kafka too: up to N records in the handler at once (the market-data consumers need
    it to keep up with the feed), one key's in publish order with per_key, and every
    handled record committed, so the group's next member resumes after them."""
    topic = names.channel("kafka")
    publisher = make_bus()
    await publisher.start()
    keys = [f"K{k}" for k in range(6)]
    for n in range(10):
        for key in keys:
            await publisher.publish(topic, Envelope("T", {"key": key, "n": n}), key=key)

    finished: list[tuple[str, int]] = []
    in_flight = {"now": 0, "most": 0}
    running: set[str] = set()

    async def handler(message: Envelope) -> None:
        key = message.data["key"]
        if per_key:
            assert key not in running, f"two records of {key} at once"
        running.add(key)
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        await asyncio.sleep(0.05 if message.data["n"] % 2 else 0.01)  # finishing out of order
        in_flight["now"] -= 1
        running.discard(key)
        finished.append((key, message.data["n"]))

    group = names.group()
    consumer = make_bus()
    consumer.subscribe(topic, group, handler, concurrency=8, per_key=per_key)
    await consumer.start()
    await until(lambda: len(finished) >= 60, what="60 handled")
    await consumer.stop()
    assert sorted(finished) == sorted((key, n) for key in keys for n in range(10))
    assert 1 < in_flight["most"] <= 8
    if per_key:
        for key in keys:
            assert [n for k, n in finished if k == key] == list(range(10))

    again: list[int] = []

    async def count(message: Envelope) -> None:
        again.append(message.data["n"])

    late = make_bus()
    late.subscribe(topic, group, count)
    await late.start()
    await publisher.publish(topic, Envelope("T", {"key": "K0", "n": 99}), key="K0")
    await until(lambda: bool(again), what="the record published after the stop")
    assert again == [99]
