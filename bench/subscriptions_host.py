"""The platform side of `mybroker bench subscriptions`, as its own process:
`python -m bench.subscriptions_host`.

Runs the platform (embedded, or on the real engines with MYBROKER_INFRA=real) with its
simulated feed slowed to a crawl, and publishes the bench's quotes itself, through the
platform's own bus on the market-data channel (the in-memory bus, or Kafka
`assets-market-data-v1`), so they reach the assets subgraph's `quotes` subscription the way
real ticks do. Each quote's `time` is the moment it was published: clients measure
latency against it.

Talks over stdin/stdout, one JSON line each way:
  out  {"ready": {name: graphql url}}          once the platform serves
  in   {"publish": RATE, "seconds": S, "tickers": [...]}
  out  {"published": N, "per_ticker": {...}}   when done
  in   {"stop": true} (or EOF)                 stops the platform"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import orjson

from mybroker.events import MARKET_DATA, utcnow
from mybroker.money import from_ticks
from mybroker.wire import Quote
from launch.platform import Platform
from mybroker.settings import DEFAULT_PORTS, SERVICES, Settings
from bench.processes import free_port

SLICE = 0.01  # publish in 10 ms slices: smooth enough, cheap enough


def bench_settings(data_dir: Path) -> Settings:
    ports = {name: free_port() for name in DEFAULT_PORTS}
    common = dict(data_dir=data_dir, ports=ports, tick_interval=3600.0, market_seed=7)
    if os.environ.get("MYBROKER_INFRA") != "real":
        return Settings.from_env(env={}, **common)
    # A channel namespace of its own: the bench's ticks reach only this run's consumers.
    return Settings.from_env(**common).with_overrides(channel_namespace=f"bench-{uuid.uuid4().hex[:8]}.")


async def publish(platform: Platform, rate: int, seconds: float, tickers: list[str]) -> dict:
    bus = platform.infra.bus
    counts = {ticker: 0 for ticker in tickers}
    volume = 0
    total = int(rate * seconds)
    start = time.monotonic()
    sent = 0
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while sent < due:
            ticker = tickers[sent % len(tickers)]
            volume += 100
            cents = 1000 + sent % 500
            quote = Quote(ticker, from_ticks(cents), Decimal("0.10"), 0.5, volume, utcnow(), source="bench")
            await bus.publish(MARKET_DATA, quote.envelope(), key=ticker)
            counts[ticker] += 1
            sent += 1
        await asyncio.sleep(SLICE)
    return {"published": sent, "per_ticker": counts, "seconds": round(time.monotonic() - start, 3)}


async def _lines():
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if line.strip():
            yield orjson.loads(line)


def _say(message: dict) -> None:
    sys.stdout.write(orjson.dumps(message).decode() + "\n")
    sys.stdout.flush()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mybroker-bench-subs-") as data_dir:
        platform = Platform(bench_settings(Path(data_dir)))
        await platform.start()
        try:
            _say({"ready": {name: platform.settings.graphql_url(name) for name in SERVICES}})
            async for command in _lines():
                if command.get("stop"):
                    break
                if "publish" in command:
                    _say(await publish(platform, int(command["publish"]), float(command["seconds"]), list(command["tickers"])))
        finally:
            await platform.stop()


if __name__ == "__main__":
    import uvloop

    uvloop.install()
    asyncio.run(main())
