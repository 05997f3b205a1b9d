"""Wiring of the market-data ingest: a headless worker publishing the offline feed and
archiving every published quote (MongoDB on real infrastructure, nothing embedded)."""
from __future__ import annotations

from mybroker.catalog import load_catalog
from mybroker.service import Infrastructure, Service
from ingest.feed import FeedRunner, QuotePublisher
from ingest.history import HistoryRecorder, QuoteHistory, create_history
from ingest.simulator import MarketSimulator

NAME = "ingest"


def create_service(infra: Infrastructure, *, history: QuoteHistory | None = None) -> Service:
    """`history` defaults to the one settings choose (settings.history)."""
    settings = infra.settings
    source = MarketSimulator(load_catalog(), seed=settings.market_seed)
    recorder = HistoryRecorder(history if history is not None else create_history(settings))
    runner = FeedRunner(
        source, QuotePublisher(infra.bus), settings.tick_interval, seed=settings.market_seed, recorder=recorder
    )
    # Stop the feed before its recorder, which flushes what is left and closes the store.
    return Service(NAME, None, on_start=[recorder.start, runner.start], on_stop=[runner.stop, recorder.stop])
