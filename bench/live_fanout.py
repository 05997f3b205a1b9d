"""Benchmark of the live fan-out on the embedded backend: one publisher, many subscribers.

    python -m bench.live_fanout [--subscribers 200] [--messages 2000] [--tickers 10]

Each subscriber watches one ticker (as `quotes(tickers: [...])` does); every message goes
through the in-memory bus, Broadcast and the subscribers' filters. Prints a summary and,
last, one JSON line: deliveries per second, publish-to-read latency percentiles (ms) and
messages dropped (none expected: every subscriber reads as fast as it can)."""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from contextlib import aclosing

from mybroker.bus.memory import MemoryBus
from mybroker.events import MARKET_DATA, QUOTE, Envelope
from mybroker.live import DEFAULT_CAPACITY, LiveFeed


async def run(subscribers: int, messages: int, tickers: int, capacity: int = DEFAULT_CAPACITY) -> dict:
    bus = MemoryBus()
    feed = LiveFeed(bus, MARKET_DATA, capacity=capacity)
    await bus.start()
    names = [f"TICK{i}" for i in range(tickers)]
    expected = [sum(1 for n in range(messages) if n % tickers == s % tickers) for s in range(subscribers)]
    latencies: list[float] = []

    async def subscriber(index: int) -> None:
        wanted = names[index % tickers]
        received = 0
        async with aclosing(feed.subscribe(lambda m: m.data["ticker"] == wanted)) as stream:
            async for message in stream:
                latencies.append(time.perf_counter() - message.data["sentAt"])
                received += 1
                if received == expected[index]:
                    return

    tasks = [asyncio.create_task(subscriber(i)) for i in range(subscribers)]
    while feed.subscribers < subscribers:
        await asyncio.sleep(0.001)
    started = time.perf_counter()
    for n in range(messages):
        await bus.publish(MARKET_DATA, Envelope(QUOTE, {"ticker": names[n % tickers], "sentAt": time.perf_counter()}))
        if n % 50 == 49:
            await bus.drain()  # a market's pace, not one burst: lets the readers run
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await feed.close()
    await bus.stop()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 3)

    return {
        "subscribers": subscribers,
        "messages": messages,
        "deliveries": len(latencies),
        "seconds": round(elapsed, 3),
        "deliveries_per_second": round(len(latencies) / elapsed),
        "latency_ms_p50": pct(0.50),
        "latency_ms_p99": pct(0.99),
        "dropped": feed.dropped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--tickers", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(run(args.subscribers, args.messages, args.tickers))
    print(
        f"{result['deliveries']} deliveries to {result['subscribers']} subscribers in {result['seconds']} s "
        f"({result['deliveries_per_second']}/s), latency p50 {result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
