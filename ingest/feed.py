"""The market-data pipeline: a QuoteSource produces rounds of quotes, a QuotePublisher puts
them on MARKET_DATA, and a FeedRunner paces the rounds and hands each published round to
the quote history. The offline simulator is one source; the Brapi client will be another,
with the same publisher and runner."""
from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Protocol

from mybroker.bus import MessageBus
from mybroker.events import MARKET_DATA, QUOTE, Envelope, utcnow

if TYPE_CHECKING:
    from ingest.history import HistoryRecorder

log = logging.getLogger("mybroker.ingest")

Quote = dict[str, Any]  # the Quote payload of docs/internals.md


class QuoteSource(Protocol):
    async def next_round(self, now: datetime) -> list[Quote]:
        """One quote per ticker the source follows, as of `now`."""


class QuotePublisher:
    def __init__(self, bus: MessageBus):
        self.bus = bus

    async def publish(self, quote: Quote) -> None:
        # Keyed by ticker: one partition per ticker keeps its ticks in order for consumers.
        await self.bus.publish(MARKET_DATA, Envelope(QUOTE, quote), key=quote["ticker"])


class FeedRunner:
    """Publishes a round at start, so quotes exist at once, then one every `interval`
    seconds with a little jitter (a real feed never ticks like a metronome).

    Publish first, then record: the live consumers are the product and must not wait on
    the archive, and recording only what the bus took makes the history exactly the
    published stream. The recorder writes in the background and never raises here."""

    def __init__(
        self,
        source: QuoteSource,
        publisher: QuotePublisher,
        interval: float,
        *,
        jitter: float = 0.1,
        seed: int | None = None,
        clock: Callable[[], datetime] = utcnow,
        recorder: "HistoryRecorder | None" = None,
    ):
        self.source = source
        self.publisher = publisher
        self.interval = interval
        self.jitter = jitter
        self.clock = clock
        self.recorder = recorder
        self.rounds = 0
        self._rng = random.Random(seed)
        self._task: asyncio.Task | None = None

    async def run_round(self) -> int:
        quotes = await self.source.next_round(self.clock())
        published: list[Quote] = []
        try:
            for quote in quotes:
                await self.publisher.publish(quote)
                published.append(quote)
        finally:
            # A round that failed halfway still archives the quotes that went out.
            if self.recorder is not None:
                self.recorder.submit(published)
        self.rounds += 1
        return len(quotes)

    async def start(self) -> None:
        await self._round_safely()
        self._task = asyncio.create_task(self._run(), name="ingest:feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def next_delay(self) -> float:
        return max(0.0, self.interval * self._rng.uniform(1 - self.jitter, 1 + self.jitter))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.next_delay())
            await self._round_safely()

    async def _round_safely(self) -> None:
        try:
            await self.run_round()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the feed must outlive a broker or source hiccup
            log.exception("market-data round failed; trying again next round")
