"""The market-data source settings choose (MYBROKER_MARKET_SOURCE), with the pause the
feed takes between its rounds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

from ingest.brapi import BrapiClient, BrapiSource
from ingest.feed import QuoteSource
from ingest.replay import ReplaySource, file_quotes, parse_replay_from
from ingest.simulator import MarketSimulator
from mybroker.catalog import load_catalog

SOURCES = ("simulator", "brapi", "replay")


@dataclass
class ChosenSource:
    source: QuoteSource
    interval: float  # seconds between rounds; 0 for a source that paces itself
    close: Callable[[], Awaitable[None]]
    local: bool = True  # answers at once (no network): its first round can run inside start


async def _nothing_to_close() -> None:
    pass


def create_source(settings) -> ChosenSource:
    """Raises ValueError with the setting to fix for a bad configuration."""
    kind = settings.market_source
    if kind == "simulator":
        if not settings.tick_interval > 0:
            raise ValueError(f"MYBROKER_TICK_INTERVAL must be positive, not {settings.tick_interval}")
        return ChosenSource(MarketSimulator(load_catalog(), seed=settings.market_seed), settings.tick_interval, _nothing_to_close)
    if kind == "brapi":
        if not settings.brapi_poll_interval > 0:
            raise ValueError(f"MYBROKER_BRAPI_POLL_INTERVAL must be positive, not {settings.brapi_poll_interval}")
        client = BrapiClient(
            settings.brapi_url, settings.brapi_token, timeout=settings.brapi_timeout, max_attempts=settings.brapi_max_attempts
        )
        tickers = list(settings.brapi_tickers) or [entry.ticker for entry in load_catalog()]
        source = BrapiSource(client, tickers, settings.brapi_batch_size)
        return ChosenSource(source, settings.brapi_poll_interval, source.close, local=False)
    if kind == "replay":
        where, what = parse_replay_from(settings.replay_from)
        if where == "file":
            if not what.is_file():
                raise ValueError(f"MYBROKER_REPLAY_FROM: no such file {what}")
            return ChosenSource(ReplaySource(file_quotes(what), settings.replay_speed), 0.0, _nothing_to_close)
        history = _mongo(settings)
        return ChosenSource(ReplaySource(_mongo_session(history, what), settings.replay_speed), 0.0, history.close, local=False)
    raise ValueError(f"MYBROKER_MARKET_SOURCE must be one of {', '.join(SOURCES)}, not {kind!r}")


def _mongo(settings):
    from ingest.history import MongoHistory

    return MongoHistory(settings.mongodb_url, settings.mongodb_database)


async def _mongo_session(history, day) -> AsyncIterator:
    """The asked day, or the latest recorded one."""
    day = day or await history.latest_day()
    if day is None:
        return
    async for item in history.session(day):
        yield item
