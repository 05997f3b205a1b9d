"""The exchange's market as the assets subgraph shows it: the latest book snapshot per
ticker (from `b3-book-v1`) and a bounded list of recent trades per ticker (the tape,
`b3-trades-v1`), both kept in the cache. The tape is also kept, bounded, in the assets
database, so a restart keeps it where the cache does not (the embedded memory cache):
`restore` puts it back in the cache at start (docs/design.md, "Continuity"). Folding is
pure (below); MarketView does the I/O for the consumers and the resolvers.

Both consumers are idempotent without an inbox: a snapshot replaces the cached one only
when it is not older, and a trade already in the list (by trade id) is not added again.
Each ticker's messages arrive on one partition, so one consumer at a time folds them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Sequence

import orjson

from mybroker import wire
from mybroker.cache import Cache
from mybroker.db import Database
from mybroker.events import iso, parse_iso, utcnow
from subgraphs.assets import repository
from subgraphs.assets.domain import normalise_ticker, page_size

DEFAULT_BOOK_DEPTH = 5
MAX_BOOK_DEPTH = 10  # b3-sim's snapshots carry ten levels per side
DEFAULT_TRADES = 50
TRADES_KEPT = 200  # per ticker; also the most `trades(limit:)` answers


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    quantity: int
    orders: int


@dataclass(frozen=True)
class OrderBook:
    bids: list[BookLevel]
    asks: list[BookLevel]
    time: datetime


@dataclass(frozen=True)
class TapeTrade:
    price: Decimal
    quantity: int
    time: datetime


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("time has no offset")
    return moment.astimezone(timezone.utc)


def book_of(snapshot: wire.BookSnapshot, depth: int) -> OrderBook:
    def levels(side: tuple[wire.BookLevel, ...]) -> list[BookLevel]:
        return [BookLevel(level.price, level.quantity, level.orders) for level in side[:depth]]

    return OrderBook(levels(snapshot.bids), levels(snapshot.asks), _utc(snapshot.time))


def keeps_snapshot(candidate: wire.BookSnapshot, cached: wire.BookSnapshot | None) -> bool:
    """Newer (or equal) wins: a redelivered or late snapshot never hides a newer book."""
    return cached is None or _utc(candidate.time) >= _utc(cached.time)


def add_trade(trades: list[dict[str, Any]], trade: wire.Trade, keep: int = TRADES_KEPT) -> list[dict[str, Any]] | None:
    """The list (newest first) with `trade` in it, or None when it is there already.
    Raises ValueError for a trade without an offset on its time."""
    if any(t["tradeId"] == trade.trade_id for t in trades):
        return None
    entry = tape_entry(trade)
    # The tape arrives in order per ticker; a redelivered older trade still sorts into place.
    merged = sorted([entry, *trades], key=lambda t: parse_iso(t["time"]), reverse=True)
    return merged[:keep]


def tape_entry(trade: wire.Trade) -> dict[str, Any]:
    """A trade as the cached tape keeps it."""
    return {"tradeId": trade.trade_id, "price": str(trade.price), "quantity": trade.quantity, "time": iso(_utc(trade.time))}


def book_key(ticker: str) -> str:
    return f"book:{ticker}"


def trades_key(ticker: str) -> str:
    return f"trades:{ticker}"


class MarketView:
    """`db` keeps the tape across restarts; without one (unit tests of the folding) the
    cache alone holds it."""

    def __init__(self, cache: Cache, db: Database | None = None):
        self.cache = cache
        self.db = db

    async def restore(self) -> int:
        """Puts the stored tapes into the cache where it has none (the embedded memory
        cache after a restart); a cache that kept its own (Redis) is left alone, since
        every stored trade reached it too. Answers how many tickers it restored. Run at
        start, before the consumers get messages, so no trade can be folded in between."""
        if self.db is None:
            return 0
        async with self.db.read() as session:
            tapes = await repository.recent_tapes(session)
        tickers = sorted(tapes)
        cached = await self.cache.get_many([trades_key(t) for t in tickers])
        restored = 0
        for ticker, raw in zip(tickers, cached):
            if raw is None:
                await self.cache.set(trades_key(ticker), orjson.dumps([tape_entry(t) for t in tapes[ticker][:TRADES_KEPT]]))
                restored += 1
        return restored

    async def record_book(self, snapshot: wire.BookSnapshot) -> None:
        ticker = normalise_ticker(snapshot.ticker)
        _utc(snapshot.time)  # refuse a snapshot no later one could be compared with, before caching it
        raw = await self.cache.get(book_key(ticker))
        if keeps_snapshot(snapshot, wire.BookSnapshot.from_payload(orjson.loads(raw)) if raw else None):
            await self.cache.set(book_key(ticker), orjson.dumps(snapshot.payload()))

    async def record_trade(self, trade: wire.Trade) -> None:
        ticker = normalise_ticker(trade.ticker)
        _utc(trade.time)  # refuse a trade without an offset before storing it
        if self.db is not None:
            async with self.db.transaction() as tx:
                await repository.save_trade(tx.session, dataclasses.replace(trade, ticker=ticker), TRADES_KEPT)
        # After the commit, and even for a redelivery (as the quotes do): a crash between
        # the two must not leave the cache behind for good; add_trade is idempotent.
        raw = await self.cache.get(trades_key(ticker))
        updated = add_trade(orjson.loads(raw) if raw else [], trade)
        if updated is not None:
            await self.cache.set(trades_key(ticker), orjson.dumps(updated))

    async def books(self, tickers: Sequence[str], depth: int | None) -> list[OrderBook]:
        """The latest book per ticker, `depth` levels a side; an empty book before the first."""
        levels = page_size(depth, DEFAULT_BOOK_DEPTH, MAX_BOOK_DEPTH, "depth")
        raw = await self.cache.get_many([book_key(normalise_ticker(str(t))) for t in tickers])
        return [
            book_of(wire.BookSnapshot.from_payload(orjson.loads(value)), levels) if value else OrderBook([], [], utcnow()) for value in raw
        ]

    async def trades(self, ticker: str, limit: int | None) -> list[TapeTrade]:
        """The latest trades, newest first."""
        count = page_size(limit, DEFAULT_TRADES, TRADES_KEPT, "limit")
        raw = await self.cache.get(trades_key(normalise_ticker(ticker)))
        return [
            TapeTrade(Decimal(t["price"]), int(t["quantity"]), parse_iso(t["time"])) for t in (orjson.loads(raw) if raw else [])[:count]
        ]
