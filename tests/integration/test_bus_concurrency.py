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
