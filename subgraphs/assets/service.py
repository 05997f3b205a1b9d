"""Assets use cases: the catalog, latest quotes (cache), candles (database) and the live
quote stream. Resolvers, consumers and the internal API call only this."""
from __future__ import annotations

import dataclasses
import logging
from contextlib import aclosing
from typing import Any, AsyncGenerator, Iterable, Mapping, Sequence

import orjson

from mybroker.cache import Cache
from mybroker.catalog import CatalogEntry, load_catalog, standard_ticker
from mybroker.db import Database
from mybroker.errors import DomainError, ErrorCode, bad_input
from mybroker.events import QUOTE, Envelope
from mybroker.live import LiveFeed
from mybroker.money import format_money
from mybroker.wire import Quote, latest_quote_key
from subgraphs.assets import repository
from subgraphs.assets.catalog_view import CatalogView
from subgraphs.assets.market import MarketView
from subgraphs.assets.ticks import TickBatches
from subgraphs.assets.wire import quote_tick, tick_of
from subgraphs.assets.domain import (
    DEFAULT_ASSETS_PAGE,
    DEFAULT_CANDLES,
    MAX_ASSETS_PAGE,
    MAX_CANDLES,
    MAX_SEARCH_LENGTH,
    AssetRecord,
    AssetType,
    Candle,
    CandleInterval,
    QuoteTick,
    fold_ticks,
    fractional_record,
    is_newer,
    normalise_ticker,
    page_size,
)

log = logging.getLogger("mybroker.assets")


quote_key = latest_quote_key  # the kernel names it: the simulated source reads it on start


class AssetsService:
    def __init__(self, db: Database, cache: Cache, live: LiveFeed | None = None):
        self.db = db
        self.cache = cache
        self.live = live
        self.market = MarketView(cache, db)  # the exchange's book and tape (b3-book-v1, b3-trades-v1)
        self.ticks = TickBatches(self.write_ticks)  # market-data ticks, written in batches
        self.catalog = CatalogView(self._load_catalog)

    async def _load_catalog(self) -> dict[str, AssetRecord]:
        async with self.db.read() as session:
            return await repository.all_assets(session)

    # ------------------------------------------------------------------ catalog

    async def seed_catalog(self, entries: Iterable[CatalogEntry] | None = None) -> None:
        """Upserts the shipped catalog. Re-running it changes nothing; an asset an operator
        deactivated stays inactive."""
        rows = [
            (normalise_ticker(e.ticker), e.name, AssetType(e.type), e.lot_size)
            for e in (load_catalog() if entries is None else entries)
        ]
        async with self.db.transaction() as tx:
            await repository.upsert_catalog(tx.session, rows)
        self.catalog.invalidate()

    async def search(self, search: str | None, type: AssetType | None, first: int | None) -> list[AssetRecord]:
        """Active assets whose ticker or name contains `search` (case and accents ignored)."""
        limit = page_size(first, DEFAULT_ASSETS_PAGE, MAX_ASSETS_PAGE, "first")
        if search is not None and len(search) > MAX_SEARCH_LENGTH:
            # Longer than any ticker or name could match; a long LIKE pattern only costs.
            raise bad_input(
                f"A busca pode ter no máximo {MAX_SEARCH_LENGTH} caracteres "
                f"(search may have at most {MAX_SEARCH_LENGTH} characters)."
            )
        async with self.db.read() as session:
            return await repository.search_assets(session, (search or "").strip() or None, type, limit)

    async def find(self, ticker: str) -> AssetRecord | None:
        return (await self.find_many([ticker]))[0]

    async def find_many(self, tickers: Sequence[str]) -> list[AssetRecord | None]:
        """One query for many tickers (the router's `_entities` batches), in the asked order.
        A fractional ticker (PETR4F) is its standard asset's record with a lot of 1."""
        wanted = [normalise_ticker(str(t)) for t in tickers]
        found = await self.catalog.records()
        return [self._record(found, ticker) for ticker in wanted]

    @staticmethod
    def _record(found: Mapping[str, AssetRecord], ticker: str) -> AssetRecord | None:
        standard = standard_ticker(ticker)
        record = found.get(standard)
        if standard == ticker or record is None or record.lot_size <= 1:
            return record
        return fractional_record(record, ticker)

    async def asset_summary(self, ticker: str) -> dict[str, Any]:
        """The internal API's view (docs/internals.md); orders checks `active` itself."""
        asset = await self.find(ticker)
        if asset is None:
            raise DomainError(ErrorCode.UNKNOWN_ASSET, f"{normalise_ticker(ticker)} is not in the catalog.")
        quote = await self.latest_quote(asset.ticker)
        summary = {
            "ticker": asset.ticker,
            "name": asset.name,
            "type": asset.type.value,
            "lotSize": asset.lot_size,
            "active": asset.active,
            "lastPrice": format_money(quote.price) if quote else None,
        }
        cap = await self._fractional_cap(asset.ticker)
        if cap is not None:  # a fractional market takes fewer shares than its round lot
            summary["maxQuantity"] = cap
        return summary

    async def _fractional_cap(self, ticker: str) -> int | None:
        standard = standard_ticker(ticker)
        if standard == ticker:
            return None
        record = await self.find(standard)
        return record.lot_size - 1 if record is not None else None

    # ------------------------------------------------------------------ quotes

    async def latest_quote(self, ticker: str) -> QuoteTick | None:
        return (await self.latest_quotes([ticker]))[0]

    async def latest_quotes(self, tickers: Sequence[str]) -> list[QuoteTick | None]:
        """A fractional ticker is priced by its standard ticker's quote (under its own name)."""
        wanted = [normalise_ticker(str(t)) for t in tickers]
        raw = await self.cache.get_many([quote_key(standard_ticker(t)) for t in wanted])
        return [
            None if value is None else dataclasses.replace(tick_of(orjson.loads(value)), ticker=ticker)
            for ticker, value in zip(wanted, raw)
        ]

    async def record_quote(self, message: Envelope) -> None:
        """Market-data consumer: folds the tick into its candles, then keeps it as the
        latest quote unless a newer one is already cached; returns once both are done.
        The ticks that arrive while a batch is being written make the next batch
        (subgraphs.assets.ticks): one transaction and one cache pass for all of them.
        No inbox here: folding is idempotent (a repeated tick changes nothing), and an
        inbox row per tick would grow by millions a day."""
        quote = Quote.of(message)  # a malformed payload fails its own delivery, not a batch
        await self.ticks.submit(quote, quote_tick(quote))

    async def write_ticks(self, batch: Sequence[tuple[Quote, QuoteTick]]) -> None:
        """Folds a batch of ticks into their candles in one transaction (each ticker's
        buckets read in one query, each changed candle written once), then caches each
        ticker's newest tick of the batch unless a newer one is cached already."""
        by_ticker: dict[str, list[QuoteTick]] = {}
        newest: dict[str, tuple[Quote, QuoteTick]] = {}
        for quote, tick in batch:
            by_ticker.setdefault(tick.ticker, []).append(tick)
            if tick.ticker not in newest or is_newer(tick.time, newest[tick.ticker][1].time):
                newest[tick.ticker] = (quote, tick)
        async with self.db.transaction() as tx:
            for ticker, ticks in by_ticker.items():
                known = await repository.candles_of_ticks(tx.session, ticker, ticks)
                await repository.save_candles(tx.session, known, fold_ticks(known, ticks))
            # The latest quote in the database too, once per ticker and batch: the embedded
            # memory cache forgets it on a restart, and the simulated source continues from
            # it (restore_market).
            for ticker, (quote, _tick) in newest.items():
                await repository.save_last_quote(tx.session, dataclasses.replace(quote, ticker=ticker))
        # After the commit, and even for a redelivery: a crash between the two must not
        # leave the cache behind for good, and the newer-wins rule makes this idempotent.
        tickers = list(newest)
        for ticker, cached in zip(tickers, await self.latest_quotes(tickers)):
            quote, tick = newest[ticker]
            if is_newer(tick.time, cached.time if cached else None):
                await self.cache.set(quote_key(ticker), orjson.dumps(quote.payload()))

    async def restore_market(self) -> None:
        """At start, before the consumers get messages: the stored latest quotes and tapes
        go back into the cache where it has none or an older one (the embedded memory cache
        after a restart), so `Asset.quote` and `Asset.trades` answer at once and the
        simulated source (ingest) continues from the last prices (docs/design.md,
        "Continuity")."""
        async with self.db.read() as session:
            stored = await repository.last_quotes(session)
        cached = await self.latest_quotes([quote.ticker for quote in stored])
        for quote, current in zip(stored, cached):
            if current is None or is_newer(quote.time, current.time):
                await self.cache.set(quote_key(quote.ticker), orjson.dumps(quote.payload()))
        restored = await self.market.restore()
        log.info("restored %d latest quotes and %d tapes", len(stored), restored)

    async def quote_stream(self, tickers: Sequence[str]) -> AsyncGenerator[QuoteTick, None]:
        """Every tick of the asked tickers from now on (the quotes subscription)."""
        wanted = {normalise_ticker(str(t)) for t in tickers}
        if not wanted:
            raise bad_input("Ask for at least one ticker.")
        known = {asset.ticker for asset in await self.find_many(sorted(wanted)) if asset is not None}
        if unknown := wanted - known:
            raise bad_input(f"Unknown ticker(s): {', '.join(sorted(unknown))}.")
        if self.live is None:
            raise RuntimeError("this assets service has no live feed")

        # A fractional ticker (PETR4F) ticks with its standard ticker's quotes, under its own name.
        names: dict[str, list[str]] = {}
        for ticker in sorted(wanted):
            names.setdefault(standard_ticker(ticker), []).append(ticker)

        def accepts(message: Envelope) -> bool:
            return message.type == QUOTE and normalise_ticker(str(message.data.get("ticker", ""))) in names

        # aclosing: leaving `async for` does not close an async generator, and an unclosed
        # live subscription would keep buffering ticks until garbage collection.
        async with aclosing(self.live.subscribe(accepts)) as messages:
            async for message in messages:
                try:
                    tick = quote_tick(Quote.of(message))
                except ValueError:
                    log.warning("skipped a malformed quote %s on the live feed", message.id)
                    continue
                for name in names.get(tick.ticker, ()):
                    yield tick if name == tick.ticker else dataclasses.replace(tick, ticker=name)

    # ------------------------------------------------------------------ candles

    async def candles(self, ticker: str, interval: CandleInterval | None, limit: int | None) -> list[Candle]:
        """The latest `limit` candles, oldest first (null arguments mean the contract's defaults)."""
        count = page_size(limit, DEFAULT_CANDLES, MAX_CANDLES, "limit")
        async with self.db.read() as session:
            return await repository.recent_candles(
                session, standard_ticker(normalise_ticker(ticker)), interval or CandleInterval.ONE_DAY, count
            )
