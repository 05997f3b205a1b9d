"""Market sync: what the exchange shows the market after each command.

- Trades go out on `b3-trades-v1` through the journal's outbox (b3sim.journal), in the
  same transaction as the command: none is lost or sent twice under a new id.
- Top of book: per ticker, the best `levels` bids and asks, the best bid/ask and the last
  trade go to the cache (`b3:market:<TICKER>`, which the cache prefixes with the channel namespace;
  Redis on real infrastructure) and out on
  `b3-book-v1`, keyed by ticker. These are snapshots, each superseding the one before, so
  they are best-effort: a lost one is repaired by the next, and a failure is only logged.

The hot path (a quote re-quotes the maker on every tick) only marks its ticker dirty; a
background task publishes the dirty tickers' books at most once per `interval`, read from
the core at that moment, so a burst of ticks costs one snapshot per ticker."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Callable, Iterable

import orjson

from b3sim.book import Book, Side
from b3sim.exchange import Exchange
from b3sim.tape import Trade
from b3sim.wire import trade_message
from mybroker import wire
from mybroker.bus import MessageBus
from mybroker.cache import Cache
from mybroker.events import EXCHANGE_BOOKS, utcnow
from mybroker.money import from_ticks

log = logging.getLogger("mybroker.b3sim.market")

BOOK_LEVELS = 10  # levels per side in a snapshot (the API's depth is capped at this)


def market_key(ticker: str) -> str:
    return f"b3:market:{ticker}"


def _levels(book: Book, side: Side, levels: int) -> tuple[wire.BookLevel, ...]:
    return tuple(wire.BookLevel(from_ticks(price), quantity, orders) for price, quantity, orders in book.depth(side, levels))


def book_snapshot(book: Book, at: datetime, last_trade: Trade | None, levels: int = BOOK_LEVELS) -> wire.BookSnapshot:
    """The BookSnapshot message (docs/internals.md). Pure."""
    return wire.BookSnapshot(
        ticker=book.ticker,
        bids=_levels(book, Side.BUY, levels),
        asks=_levels(book, Side.SELL, levels),
        last_trade=None if last_trade is None else trade_message(last_trade),
        time=at,
    )


class MarketSync:
    def __init__(
        self,
        bus: MessageBus,
        cache: Cache,
        exchange: Callable[[], Exchange | None],
        tickers: Iterable[str] = (),
        *,
        levels: int = BOOK_LEVELS,
        interval: float = 0.05,
    ):
        self.bus = bus
        self.cache = cache
        self.exchange = exchange
        self.levels = levels
        self._known: dict[str, None] = dict.fromkeys(tickers)  # books to refresh on a global change
        self.interval = interval
        self._dirty: dict[str, datetime] = {}  # ticker -> time of the latest change
        self._last_trades: dict[str, Trade] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.published = 0  # snapshots sent (for tests and benchmarks)

    # -- the worker's side: cheap, no I/O -----------------------------------------------
    def touch(self, ticker: str | None, at: datetime) -> None:
        """A command changed `ticker`'s book (None: any book, e.g. the session closed)."""
        core = self.exchange()
        if core is None:
            return
        if ticker is None:
            for name in self._known:
                self._dirty[name] = at
        elif core.book(ticker) is not None:
            self._dirty[ticker] = at
            self._known.setdefault(ticker)
        self._wake.set()

    def traded(self, trades: Iterable[Trade]) -> None:
        for trade in trades:
            self._last_trades[trade.ticker] = trade
            self._dirty[trade.ticker] = trade.time
            self._wake.set()

    # -- publishing ----------------------------------------------------------------------
    async def flush(self) -> int:
        """Publishes every dirty ticker's snapshot; answers how many went out. One that
        failed is not retried: the ticker's next change publishes its book again."""
        core = self.exchange()
        if core is None or not self._dirty:
            return 0
        dirty, self._dirty = self._dirty, {}
        snapshots = []
        for ticker, at in dirty.items():
            book = core.book(ticker)
            if book is not None:
                snapshots.append(book_snapshot(book, at, self._last_trades.get(ticker), self.levels))
        results = await asyncio.gather(*(self._publish(snapshot) for snapshot in snapshots), return_exceptions=True)
        failed = [(snapshot.ticker, result) for snapshot, result in zip(snapshots, results) if isinstance(result, BaseException)]
        if failed:  # one line per flush, not per ticker: an outage would flood the log
            log.warning("%d book snapshots not published (first: %s %r)", len(failed), *failed[0])
        self.published += len(snapshots) - len(failed)
        return len(snapshots) - len(failed)

    async def _publish(self, snapshot: wire.BookSnapshot) -> None:
        message = snapshot.envelope()
        await self.cache.set(market_key(snapshot.ticker), orjson.dumps(message.data))
        await self.bus.publish(EXCHANGE_BOOKS, message, key=snapshot.ticker)

    async def start(self) -> None:
        core = self.exchange()
        if core is not None:  # the books as rebuilt, so the cache never shows an older state
            for ticker in self._known:
                self._dirty.setdefault(ticker, utcnow())
            self._wake.set()
        self._task = asyncio.create_task(self._run(), name="b3sim:market-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await self.flush()  # the last changes, so a clean stop leaves the cache current
        except Exception:  # noqa: BLE001 - best-effort by design
            log.warning("final book snapshots not published", exc_info=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - snapshots are best-effort; the next change retries
                log.exception("market sync failed")
            await asyncio.sleep(self.interval)  # coalesce: changes meanwhile share the next flush
