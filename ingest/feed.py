"""The market-data pipeline: a QuoteSource produces rounds of quotes, a QuotePublisher puts
them on MARKET_DATA, and a FeedRunner paces the rounds and hands each published round to
the quote history. The sources: the offline simulator (ingest/simulator.py), Brapi
(ingest/brapi.py) and the replay of a recorded session (ingest/replay.py); settings pick
one (ingest/sources.py)."""
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


class SourceExhausted(Exception):
    """The source has nothing more to give (a replay that ended): the feed stops asking."""


class QuoteSource(Protocol):
    async def next_round(self, now: datetime) -> list[Quote]:
        """The quotes of one round as of `now`; a source may pace itself (a replay
        waits for its next recorded moment), and raises SourceExhausted when done."""


class QuotePublisher:
    def __init__(self, bus: MessageBus):
        self.bus = bus

    async def publish(self, quote: Quote) -> None:
        # Keyed by ticker: one partition per ticker keeps its ticks in order for consumers.
        await self.bus.publish(MARKET_DATA, Envelope(QUOTE, quote), key=quote["ticker"])


class FeedRunner:
    """Publishes a round at start, so quotes exist at once, then one every `interval`
    seconds with a little jitter (a real feed never ticks like a metronome). A source
    behind the network (Brapi) takes `first_round_at_start=False`: its first round runs
    in the background, so a slow or unreachable API never holds up the platform's start.

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
        first_round_at_start: bool = True,
    ):
        self.source = source
        self.publisher = publisher
        self.interval = interval
        self.jitter = jitter
        self.clock = clock
        self.recorder = recorder
        self.first_round_at_start = first_round_at_start
        self.rounds = 0
        self.exhausted = False
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
        if self.first_round_at_start:
            await self._round_safely()
        self._task = asyncio.create_task(self._run(first=not self.first_round_at_start), name="ingest:feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def next_delay(self) -> float:
        return max(0.0, self.interval * self._rng.uniform(1 - self.jitter, 1 + self.jitter))

    async def _run(self, first: bool = False) -> None:
        if first:
            await self._round_safely()
        while not self.exhausted:
            await asyncio.sleep(self.next_delay())
            await self._round_safely()

    async def _round_safely(self) -> None:
        try:
            await self.run_round()
        except asyncio.CancelledError:
            raise
        except SourceExhausted as end:
            self.exhausted = True
            log.info("market-data source finished: %s", end)
        except Exception:  # noqa: BLE001 - the feed must outlive a broker or source hiccup
            log.exception("market-data round failed; trying again next round")
