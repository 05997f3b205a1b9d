"""Wiring of the market-data ingest: a headless worker publishing the source settings
choose (simulator, Brapi or a replay) and archiving every published quote (MongoDB on
real infrastructure, nothing embedded)."""
from __future__ import annotations

from mybroker.service import Infrastructure, Service
from ingest.feed import FeedRunner, QuotePublisher
from ingest.history import HistoryRecorder, QuoteHistory, create_history
from ingest.sources import create_source

NAME = "ingest"


def create_service(infra: Infrastructure, *, history: QuoteHistory | None = None) -> Service:
    """`history` defaults to the one settings choose (settings.history)."""
    settings = infra.settings
    chosen = create_source(settings)
    recorder = HistoryRecorder(history if history is not None else create_history(settings))
    runner = FeedRunner(
        chosen.source,
        QuotePublisher(infra.bus),
        chosen.interval,
        seed=settings.market_seed,
        recorder=recorder,
        first_round_at_start=chosen.local,
    )
    # Stop the feed before its source and recorder; the recorder flushes what is left and
    # closes the store.
    return Service(NAME, None, on_start=[recorder.start, runner.start], on_stop=[runner.stop, chosen.close, recorder.stop])
