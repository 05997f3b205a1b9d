"""Per-key order under concurrency: one key's deliveries one after another, in arrival
order (retries included); other keys' side by side. And the memory bus with `per_key`."""
from __future__ import annotations

import asyncio

from mybroker.bus.memory import MemoryBus
from mybroker.bus.sequencer import KeySequencer
from mybroker.events import Envelope


async def test_one_keys_deliveries_run_in_arrival_order_and_never_overlap():
    sequencer = KeySequencer()
    log: list[str] = []
    gates = {name: asyncio.Event() for name in ("a1", "a2", "b1")}

    async def delivery(name: str) -> str:
        log.append(f"start {name}")
        await gates[name].wait()
        log.append(f"end {name}")
        return name

    tasks = [asyncio.create_task(sequencer.run(key, delivery(name))) for key, name in (("A", "a1"), ("A", "a2"), ("B", "b1"))]
    await asyncio.sleep(0)
    assert log == ["start a1", "start b1"]  # B does not wait for A; a2 waits for a1
    gates["a2"].set()  # a2 ready first: still waits its turn
    await asyncio.sleep(0)
    assert "start a2" not in log
    gates["a1"].set()
    gates["b1"].set()
    assert await asyncio.gather(*tasks) == ["a1", "a2", "b1"]
    assert log.index("end a1") < log.index("start a2")
    assert len(sequencer) == 0  # nothing left in line


async def test_a_failed_delivery_lets_the_next_one_of_its_key_run():
    sequencer = KeySequencer()

    async def fails() -> None:
        raise RuntimeError("handler failed")

    async def succeeds() -> str:
        return "next"

    first = asyncio.create_task(sequencer.run("A", fails()))
    second = asyncio.create_task(sequencer.run("A", succeeds()))
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] == "next"


async def test_a_delivery_cancelled_while_waiting_its_turn_never_runs_and_frees_the_line():
    sequencer = KeySequencer()
    gate, ran = asyncio.Event(), []

    async def delivery(name: str) -> None:
        ran.append(name)
        await gate.wait()

    first = asyncio.create_task(sequencer.run("A", delivery("first")))
    waiting = asyncio.create_task(sequencer.run("A", delivery("waiting")))
    third = asyncio.create_task(sequencer.run("A", delivery("third")))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    gate.set()
    await asyncio.gather(first, third)
    assert ran == ["first", "third"]


async def test_memory_bus_per_key_applies_each_key_in_publish_order_while_keys_interleave():
    bus = MemoryBus()
    seen: dict[str, list[int]] = {"A": [], "B": []}
    running: set[str] = set()
    overlapped: list[str] = []

    async def handler(message: Envelope) -> None:
        key, n = message.data["key"], message.data["n"]
        if key in running:
            overlapped.append(key)
        running.add(key)
        await asyncio.sleep(0.001 * ((n * 7) % 5))  # uneven handling times
        seen[key].append(n)
        running.discard(key)

    bus.subscribe("executions", "orders", handler, concurrency=8, per_key=True)
    await bus.start()
    for n in range(40):
        key = "A" if n % 3 else "B"
        await bus.publish("executions", Envelope("ExecutionReport", {"key": key, "n": n}), key=key)
    await bus.drain()
    await bus.stop()
    assert seen["A"] == [n for n in range(40) if n % 3] and seen["B"] == [n for n in range(40) if not n % 3]
    assert overlapped == []


async def test_memory_bus_per_key_runs_different_keys_at_once():
    bus = MemoryBus()
    both_in = asyncio.Event()
    inside: set[str] = set()

    async def handler(message: Envelope) -> None:
        inside.add(message.data["key"])
        if len(inside) == 2:
            both_in.set()
        await asyncio.wait_for(both_in.wait(), 2)  # only passes if the other key is handled meanwhile

    bus.subscribe("executions", "orders", handler, concurrency=4, per_key=True)
    await bus.start()
    for key in ("A", "B"):
        await bus.publish("executions", Envelope("ExecutionReport", {"key": key}), key=key)
    await bus.drain()
    await bus.stop()
    assert both_in.is_set() and bus.dead_letters == []
