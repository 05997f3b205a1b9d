"""Wiring of the market-data ingest: a headless worker publishing the offline feed."""
from __future__ import annotations

from mybroker.catalog import load_catalog
from mybroker.service import Infrastructure, Service
from ingest.feed import FeedRunner, QuotePublisher
from ingest.simulator import MarketSimulator

NAME = "ingest"


def create_service(infra: Infrastructure) -> Service:
    settings = infra.settings
    source = MarketSimulator(load_catalog(), seed=settings.market_seed)
    runner = FeedRunner(source, QuotePublisher(infra.bus), settings.tick_interval, seed=settings.market_seed)
    return Service(NAME, None, on_start=[runner.start], on_stop=[runner.stop])
