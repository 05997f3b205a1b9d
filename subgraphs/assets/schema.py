"""The assets subgraph's GraphQL types (see docs/internals.md for what it owns).

Resolvers are one-liners into AssetsService. Assets and quotes load through per-request
DataLoaders, so the router's `_entities` call for many tickers costs one query and one
cache round trip, not one per asset."""
from __future__ import annotations

from contextlib import aclosing
from datetime import datetime
from decimal import Decimal
from typing import AsyncGenerator, Awaitable, Callable

import strawberry
from strawberry.dataloader import DataLoader

from mybroker.graphql import GraphQLContext, federation_schema
from subgraphs.assets import domain, market
from subgraphs.assets.service import AssetsService

# The context SubgraphGraphQL builds, with this subgraph's service: what resolvers get as `info`.
Info = strawberry.Info[GraphQLContext[AssetsService], None]

AssetType = strawberry.enum(domain.AssetType, name="AssetType")
CandleInterval = strawberry.enum(domain.CandleInterval, name="CandleInterval")


def _service(info: Info) -> AssetsService:
    return info.context.service


def _loader(info: Info, name: str, load: Callable[[list], Awaitable[list]]) -> DataLoader:
    """One DataLoader per request and purpose, kept in the request context."""
    loaders = info.context.loaders
    if name not in loaders:
        loaders[name] = DataLoader(load_fn=load)
    return loaders[name]


@strawberry.type
class Quote:
    ticker: strawberry.ID
    price: Decimal
    change: Decimal
    change_percent: float
    volume: int
    time: datetime

    @classmethod
    def from_tick(cls, tick: domain.QuoteTick) -> "Quote":
        return cls(
            ticker=strawberry.ID(tick.ticker),
            price=tick.price,
            change=tick.change,
            change_percent=round(tick.change_percent, 2),
            volume=tick.volume,
            time=tick.time,
        )


@strawberry.type
class Candle:
    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    @classmethod
    def from_domain(cls, candle: domain.Candle) -> "Candle":
        return cls(
            time=candle.start, open=candle.open, high=candle.high, low=candle.low, close=candle.close, volume=candle.volume
        )


@strawberry.type
class BookLevel:
    price: Decimal
    quantity: int
    orders: int = strawberry.field(description="number of orders resting at this price")


@strawberry.type
class OrderBook:
    bids: list[BookLevel]
    asks: list[BookLevel]
    time: datetime

    @classmethod
    def from_domain(cls, book: market.OrderBook) -> "OrderBook":
        def levels(side: list[market.BookLevel]) -> list[BookLevel]:
            return [BookLevel(price=level.price, quantity=level.quantity, orders=level.orders) for level in side]

        return cls(bids=levels(book.bids), asks=levels(book.asks), time=book.time)


@strawberry.type
class Trade:
    price: Decimal
    quantity: int
    time: datetime


@strawberry.federation.type(keys=["ticker"])
class Asset:
    ticker: strawberry.ID
    name: str
    type: AssetType
    lot_size: int = strawberry.field(description="shares per round lot: 100 for most stocks, 1 for FIIs and most ETFs")

    @classmethod
    def from_record(cls, record: domain.AssetRecord) -> "Asset":
        return cls(ticker=strawberry.ID(record.ticker), name=record.name, type=record.type, lot_size=record.lot_size)

    @classmethod
    async def resolve_reference(cls, info: Info, ticker: strawberry.ID) -> Asset | None:
        record = await _loader(info, "assets", _service(info).find_many).load(ticker)
        return cls.from_record(record) if record else None

    @strawberry.field(description="latest quote; null before the first tick")
    async def quote(self, info: Info) -> Quote | None:
        tick = await _loader(info, "quotes", _service(info).latest_quotes).load(self.ticker)
        return Quote.from_tick(tick) if tick else None

    @strawberry.field(description="best levels of the B3 book for this ticker, best first")
    async def book(self, info: Info, depth: int | None = market.DEFAULT_BOOK_DEPTH) -> OrderBook:
        view = _service(info).market
        loader = _loader(info, f"books:{depth}", lambda tickers: view.books(tickers, depth))
        return OrderBook.from_domain(await loader.load(self.ticker))

    @strawberry.field(description="latest trades on B3 for this ticker, newest first")
    async def trades(self, info: Info, limit: int | None = market.DEFAULT_TRADES) -> list[Trade]:
        found = await _service(info).market.trades(self.ticker, limit)
        return [Trade(price=trade.price, quantity=trade.quantity, time=trade.time) for trade in found]

    @strawberry.field(description="oldest first")
    async def candles(
        self,
        info: Info,
        interval: CandleInterval | None = domain.CandleInterval.ONE_DAY,
        limit: int | None = 30,
    ) -> list[Candle]:
        return [Candle.from_domain(c) for c in await _service(info).candles(self.ticker, interval, limit)]


@strawberry.type
class Query:
    @strawberry.field
    async def assets(
        self,
        info: Info,
        search: str | None = strawberry.UNSET,
        type: AssetType | None = strawberry.UNSET,
        first: int | None = 50,
    ) -> list[Asset]:
        return [Asset.from_record(r) for r in await _service(info).search(search or None, type or None, first)]

    @strawberry.field
    async def asset(self, info: Info, ticker: strawberry.ID) -> Asset | None:
        record = await _service(info).find(ticker)
        return Asset.from_record(record) if record else None


@strawberry.type
class Subscription:
    @strawberry.subscription(description="a quote each time any of these tickers ticks")
    async def quotes(self, info: Info, tickers: list[strawberry.ID]) -> AsyncGenerator[Quote, None]:
        async with aclosing(_service(info).quote_stream(tickers)) as ticks:
            async for tick in ticks:
                yield Quote.from_tick(tick)


schema = federation_schema(query=Query, subscription=Subscription, types=[Asset])
