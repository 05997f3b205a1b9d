"""Wiring of the market-data ingest: a headless worker publishing the source settings
choose (simulator, Brapi or a replay) and archiving every published quote (MongoDB on
real infrastructure, nothing embedded)."""
from __future__ import annotations

from mybroker.service import Infrastructure, Service
from ingest.feed import FeedRunner, QuotePublisher
from ingest.history import HistoryRecorder, QuoteHistory, create_history
from ingest.simulator import MarketSimulator, resume_from_cache
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

    async def resume() -> None:
        # Before the first round: a restart continues from the last prices, not from the
        # catalog's references. The assets service starts first (registry order) and has
        # put its stored latest quotes back in the cache by then.
        if isinstance(chosen.source, MarketSimulator):
            await resume_from_cache(chosen.source, infra.cache)

    # Stop the feed before its source and recorder; the recorder flushes what is left and
    # closes the store.
    return Service(NAME, None, on_start=[resume, recorder.start, runner.start], on_stop=[runner.stop, chosen.close, recorder.stop])
