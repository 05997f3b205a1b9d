"""A Kafka consumer stopped mid-stream resumes, with the same group, from its committed offset."""
from __future__ import annotations

import asyncio

from mybroker.events import Envelope
from tests.integration.support import until


async def test_a_restarted_group_resumes_from_its_committed_offsets(names, make_bus):
    topic, group = names.topic, names.group()
    keys = ["o1", "o2", "o3"]
    first: list[tuple[str, int]] = []
    enough = asyncio.Event()

    async def first_handler(message: Envelope) -> None:
        first.append((message.data["key"], message.data["n"]))
        if len(first) >= 10:
            enough.set()
        await asyncio.sleep(0.005)  # so the stop lands mid-stream

    bus = make_bus()
    bus.subscribe(topic, group, first_handler)
    await bus.start()
    for n in range(20):
        for key in keys:
            await bus.publish(topic, Envelope("T", {"key": key, "n": n}), key=key)
    await asyncio.wait_for(enough.wait(), 15)
    await bus.stop()
    assert 10 <= len(first) < 60, "stopped mid-stream"

    second: list[tuple[str, int]] = []
    again = make_bus()
    again.subscribe(topic, group, lambda m: _append(second, (m.data["key"], m.data["n"])))
    await again.start()
    await until(lambda: len(first) + len(second) >= 60, what="all 60 handled across both runs")
    await asyncio.sleep(0.3)  # no late redeliveries
    assert not set(first) & set(second), "a committed message was handled again"
    for key in keys:  # each key continues exactly where it stopped
        assert [n for k, n in first + second if k == key] == list(range(20))


async def _append(target: list, value) -> None:
    target.append(value)
