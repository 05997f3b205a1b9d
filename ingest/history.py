"""Quote history: every published quote archived, one document per (ticker, time).

`QuoteHistory` is the seam: MongoDB on real infrastructure, nothing on the embedded
default (the live feed needs no archive, and an in-memory one would only grow), and an
in-memory one for tests. Writes are idempotent on (ticker, time), so a round recorded
twice (a retry) stores each quote once."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, AsyncIterator, Protocol

from mybroker.events import iso, parse_iso
from mybroker.money import format_money

log = logging.getLogger("mybroker.ingest.history")

Quote = dict[str, Any]  # the Quote payload of docs/internals.md

COLLECTION = "quotes"
INDEX_NAME = "ticker_time_unique"
TIME_INDEX_NAME = "time"


class QuoteHistory(Protocol):
    async def start(self) -> None: ...

    async def record(self, quotes: list[Quote]) -> None:
        """Stores the quotes; raises if the store did not take them."""

    async def close(self) -> None: ...


class NoHistory:
    async def start(self) -> None:
        pass

    async def record(self, quotes: list[Quote]) -> None:
        pass

    async def close(self) -> None:
        pass


class MemoryHistory:
    """Keyed like the Mongo collection; the first write of a (ticker, time) wins."""

    def __init__(self) -> None:
        self.quotes: dict[tuple[str, str], Quote] = {}

    async def start(self) -> None:
        pass

    async def record(self, quotes: list[Quote]) -> None:
        for quote in quotes:
            self.quotes.setdefault((quote["ticker"], quote["time"]), dict(quote))

    async def close(self) -> None:
        pass


def quote_document(quote: Quote) -> dict[str, Any]:
    """A quote as stored: time as a BSON date (range queries, sorting), money as Decimal128
    (exact, never a float), the rest as published."""
    from bson.decimal128 import Decimal128

    document = dict(quote)
    document["time"] = parse_iso(quote["time"])
    for name in ("price", "change"):
        if document.get(name) is not None:
            document[name] = Decimal128(Decimal(str(document[name])))
    return document


def quote_from_document(document: dict[str, Any]) -> Quote:
    """The Quote payload back from its stored document (the inverse of quote_document)."""
    from bson.decimal128 import Decimal128

    quote = {name: value for name, value in document.items() if name != "_id"}
    quote["time"] = iso(document["time"])
    for name in ("price", "change"):
        value = quote.get(name)
        if isinstance(value, Decimal128):
            quote[name] = format_money(value.to_decimal())
    return quote


class MongoHistory:
    """Collection `quotes` through pymongo's native asyncio client (Motor is end-of-life).

    Upserts with $setOnInsert keyed on (ticker, time): a repeat changes nothing and is no
    error, and the unique index makes (ticker, time) a key the database enforces."""

    def __init__(self, url: str, database: str, *, timeout_ms: int = 5000):
        from pymongo import AsyncMongoClient  # lazy: the embedded default never needs it

        # Bounded waits: a down server fails a write in seconds, not pymongo's default 30 s.
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, serverSelectionTimeoutMS=timeout_ms, timeoutMS=timeout_ms, tz_aware=True)
        self.collection = self._client[database][COLLECTION]
        self._indexed = False

    async def start(self) -> None:
        await self.collection.create_index([("ticker", 1), ("time", 1)], unique=True, name=INDEX_NAME)
        # A session in time order (replay, export) reads through this one.
        await self.collection.create_index([("time", 1)], name=TIME_INDEX_NAME)
        self._indexed = True

    async def latest_day(self) -> date | None:
        """The UTC day of the newest quote, None when the history is empty."""
        newest = await self.collection.find_one({}, {"time": 1}, sort=[("time", -1)])
        return None if newest is None else newest["time"].astimezone(timezone.utc).date()

    async def session(self, day: date, tickers: list[str] | None = None) -> AsyncIterator[tuple[datetime, Quote]]:
        """One UTC day's quotes in time order, as Quote payloads."""
        start = datetime.combine(day, time.min, timezone.utc)
        query: dict[str, Any] = {"time": {"$gte": start, "$lt": start + timedelta(days=1)}}
        if tickers:
            query["ticker"] = {"$in": tickers}
        async for document in self.collection.find(query).sort([("time", 1), ("ticker", 1)]):
            yield document["time"].astimezone(timezone.utc), quote_from_document(document)

    async def record(self, quotes: list[Quote]) -> None:
        from pymongo import UpdateOne

        if not quotes:
            return
        if not self._indexed:  # the server was down at start: the index comes before any data
            await self.start()
        operations = [
            UpdateOne({"ticker": doc["ticker"], "time": doc["time"]}, {"$setOnInsert": doc}, upsert=True)
            for doc in map(quote_document, quotes)
        ]
        # Unordered: one bad document does not keep the others out.
        await self.collection.bulk_write(operations, ordered=False)

    async def close(self) -> None:
        await self._client.close()


class HistoryRecorder:
    """Writes the feed's rounds to a QuoteHistory in the background, in order, so the live
    feed never waits on the archive. A failed write is logged and counted and its round
    dropped (best-effort archive; retrying a bad batch would block the ones behind it). At
    most `max_pending` rounds wait; past that the oldest is dropped and counted."""

    def __init__(self, history: QuoteHistory, *, max_pending: int = 100):
        self.history = history
        self.max_pending = max_pending
        self.recorded = 0  # quotes the store took
        self.failed = 0  # quotes lost to failed writes
        self.dropped = 0  # quotes dropped because the store fell behind
        self._pending: deque[list[Quote]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None

    def submit(self, quotes: list[Quote]) -> None:
        if not quotes:
            return
        if len(self._pending) >= self.max_pending:
            self.dropped += len(self._pending.popleft())
            log.warning("quote history is behind; dropped the oldest waiting round (%d quotes so far)", self.dropped)
        self._pending.append(list(quotes))
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        try:
            await self.history.start()
        except Exception:  # noqa: BLE001 - the feed runs without its archive; record() retries
            log.exception("quote history could not start; will retry on the first write")
        self._task = asyncio.create_task(self._run(), name="ingest:history")

    async def flush(self) -> None:
        """Waits until every submitted round has been written (or counted as lost)."""
        await self._idle.wait()

    async def stop(self, timeout: float = 5.0) -> None:
        if self._task is not None:
            try:
                await asyncio.wait_for(self.flush(), timeout)
            except TimeoutError:
                log.warning("quote history: %d rounds unwritten at stop", len(self._pending))
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.history.close()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending.popleft()  # off the queue while in flight: submit() drops only waiting rounds
                try:
                    await self.history.record(batch)
                    self.recorded += len(batch)
                except Exception:  # noqa: BLE001 - a lost archive write must not stop the feed
                    self.failed += len(batch)
                    log.exception("quote history write failed; %d quotes lost so far", self.failed)
            self._idle.set()


def create_history(settings) -> QuoteHistory:
    if settings.history == "none":
        return NoHistory()
    if settings.history == "mongodb":
        return MongoHistory(settings.mongodb_url, settings.mongodb_database)
    raise ValueError(f"unknown quote history {settings.history!r} ('none' or 'mongodb')")
