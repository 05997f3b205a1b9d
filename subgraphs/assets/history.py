"""Candles read from the quote history that ingest records in MongoDB (collection `quotes`,
one document per (ticker, time); docs/internals.md): indexed range queries fetch the
ticks, subgraphs/assets/candles.py buckets them.

The latest `limit` candles: a first query reads the `limit` buckets up to the newest
tick; when gaps (nights, weekends) leave fewer candles than asked, the tick just before
the window says where earlier trading was, and the window moves back there. Each step
finds at least one more candle, so it ends."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from subgraphs.assets.candles import PricePoint, bucket
from subgraphs.assets.domain import Candle, CandleInterval

COLLECTION = "quotes"
FIELDS = {"_id": 0, "time": 1, "price": 1, "volume": 1}


class HistoryCandles:
    def __init__(self, url: str, database: str, *, timeout_ms: int = 5000):
        from pymongo import AsyncMongoClient  # lazy: the embedded default never needs it

        self._client = AsyncMongoClient(url, serverSelectionTimeoutMS=timeout_ms, timeoutMS=timeout_ms, tz_aware=True)
        self.collection = self._client[database][COLLECTION]

    async def candles(self, ticker: str, interval: CandleInterval, limit: int) -> list[Candle]:
        """The latest `limit` candles, oldest first."""
        newest = await self._tick({"ticker": ticker}, newest_first=True)
        if newest is None:
            return []
        found: list[Candle] = []
        end: datetime | None = None
        start = interval.bucket_start(newest.time) - interval.length * (limit - 1)
        while True:
            window: dict[str, Any] = {"$gte": start} if end is None else {"$gte": start, "$lt": end}
            cursor = self.collection.find({"ticker": ticker, "time": window}, FIELDS).sort("time", 1)
            ticks = [_point(document) async for document in cursor]
            previous = await self._tick({"ticker": ticker, "time": {"$lt": start}}, newest_first=True)
            found = bucket(ticker, ticks, interval, previous) + found
            if len(found) >= limit or previous is None:
                return found[-limit:]
            end = start
            start = interval.bucket_start(previous.time) - interval.length * (limit - len(found) - 1)

    async def close(self) -> None:
        await self._client.close()

    async def _tick(self, query: dict[str, Any], newest_first: bool) -> PricePoint | None:
        document = await self.collection.find_one(query, FIELDS, sort=[("time", -1 if newest_first else 1)])
        return None if document is None else _point(document)


def _point(document: dict[str, Any]) -> PricePoint:
    price = document["price"]
    # Stored as Decimal128 by ingest; to_decimal() keeps it exact.
    price = price.to_decimal() if hasattr(price, "to_decimal") else Decimal(str(price))
    return PricePoint(document["time"].astimezone(timezone.utc), price.quantize(Decimal("0.01")), int(document["volume"]))
