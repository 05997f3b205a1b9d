"""Settings choose the market-data source and its pace; a bad choice is a clear error."""
from __future__ import annotations

import asyncio
import json

import pytest

from ingest.app import create_service
from ingest.brapi import BrapiSource
from ingest.replay import ReplaySource
from ingest.simulator import MarketSimulator
from ingest.sources import create_source
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.catalog import load_catalog
from mybroker.events import MARKET_DATA
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from tests.support.fake_brapi import FakeBrapi


def test_the_simulator_is_the_default_at_the_tick_interval_and_seed():
    settings = Settings.from_env(env={"MYBROKER_TICK_INTERVAL": "0.25", "MYBROKER_MARKET_SEED": "9"})
    assert (settings.market_source, settings.tick_interval, settings.market_seed) == ("simulator", 0.25, 9)
    chosen = create_source(settings)
    assert isinstance(chosen.source, MarketSimulator) and chosen.interval == 0.25


def test_brapi_settings_from_the_environment():
    settings = Settings.from_env(env={
        "MYBROKER_MARKET_SOURCE": "brapi", "MYBROKER_BRAPI_TOKEN": "t0k", "MYBROKER_BRAPI_URL": "http://127.0.0.1:1/api",
        "MYBROKER_BRAPI_BATCH_SIZE": "10", "MYBROKER_BRAPI_POLL_INTERVAL": "30", "MYBROKER_BRAPI_TICKERS": "petr4, VALE3,",
    })
    assert "t0k" not in repr(settings)
    chosen = create_source(settings)
    assert isinstance(chosen.source, BrapiSource) and chosen.interval == 30.0
    assert chosen.source.batches == [["PETR4", "VALE3"]] and chosen.source.client.base_url == "http://127.0.0.1:1/api"
    every = create_source(Settings(market_source="brapi"))
    assert every.source.tickers == [e.ticker for e in load_catalog()] and len(every.source.batches) == len(load_catalog())


def test_replay_settings(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text("")
    settings = Settings.from_env(env={"MYBROKER_MARKET_SOURCE": "replay", "MYBROKER_REPLAY_FROM": str(path), "MYBROKER_REPLAY_SPEED": "4"})
    chosen = create_source(settings)
    assert isinstance(chosen.source, ReplaySource) and chosen.source.speed == 4.0 and chosen.interval == 0
    mongo = create_source(Settings(market_source="replay", replay_from="mongodb:2025-03-10", mongodb_url="mongodb://127.0.0.1:1"))
    assert isinstance(mongo.source, ReplaySource)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(market_source="ticker-tape"), "MYBROKER_MARKET_SOURCE"),
        (dict(tick_interval=0), "MYBROKER_TICK_INTERVAL"),
        (dict(market_source="brapi", brapi_poll_interval=-1), "MYBROKER_BRAPI_POLL_INTERVAL"),
        (dict(market_source="brapi", brapi_batch_size=0), "at least 1"),
        (dict(market_source="replay"), "MYBROKER_REPLAY_FROM"),
        (dict(market_source="replay", replay_from="/no/such/file.jsonl"), "no such file"),
        (dict(market_source="replay", replay_from="mongodb", replay_speed=0), "speed"),
    ],
)
def test_a_bad_configuration_says_what_to_fix(changes, message):
    with pytest.raises(ValueError, match=message):
        create_source(Settings(**changes))


async def run_ingest(settings, expected: int) -> list[dict]:
    """Runs the ingest service until `expected` quotes were published (5 s at most)."""
    bus = MemoryBus()
    received = []

    async def on_message(message):
        received.append(message.data)

    bus.subscribe(MARKET_DATA, "test", on_message)
    service = create_service(Infrastructure(settings, bus, MemoryCache()))
    await bus.start()
    await service.start()
    deadline = asyncio.get_running_loop().time() + 5
    while len(received) < expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    await bus.drain()
    await service.stop()
    await bus.stop()
    return received


async def test_the_ingest_service_publishes_brapi_quotes(tmp_path):
    async with FakeBrapi(token="t0k") as brapi:
        brapi.add("VALE3", regularMarketPrice=60.5)
        settings = Settings(data_dir=tmp_path, market_source="brapi", brapi_url=brapi.url, brapi_token="t0k",
                            brapi_tickers=("PETR4", "VALE3"))
        received = await run_ingest(settings, 2)
    assert [(q["ticker"], q["price"], q["source"]) for q in received] == [("PETR4", "31.42", "brapi"), ("VALE3", "60.50", "brapi")]


async def test_the_ingest_service_replays_a_file(tmp_path):
    path = tmp_path / "s.jsonl"
    quote = {"ticker": "PETR4", "price": "31.40", "change": "0.10", "changePercent": 0.32, "volume": 100,
             "time": "2025-03-10T13:00:00.000Z", "source": "simulator"}
    path.write_text(json.dumps(quote) + "\n")
    received = await run_ingest(Settings(data_dir=tmp_path, market_source="replay", replay_from=str(path)), 1)
    assert [(q["ticker"], q["price"], q["source"]) for q in received] == [("PETR4", "31.40", "replay")]
