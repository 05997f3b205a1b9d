"""The offline market feed: a seeded random walk per ticker from the catalog's reference
prices (taken as the previous close).

Prices walk in whole ticks (R$0.01), so they are always on B3's grid and never float
money; each step is a normal draw scaled by the price, with a weak pull back toward the
reference so a long session stays inside plausible bands. Each ticker has its own random
stream derived from the seed, so a ticker's ticks do not depend on which others are
asked for or in what order.

A restart continues where the market was (docs/design.md, "Continuity"): `resume` takes
the last quote of each ticker as the platform persisted it and starts that ticker's walk
from its price, previous close and day's volume, instead of from the catalog's reference.
The day is the kernel calendar's trading day, so a quote of an earlier trading day means
a new session opening from that quote's price (its close)."""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Callable, Iterable, Mapping

import orjson

from mybroker.cache import Cache
from mybroker.catalog import CatalogEntry, load_catalog
from mybroker.money import from_ticks, to_ticks
from mybroker.wire import Quote, latest_quote_key

log = logging.getLogger("mybroker.ingest")

SOURCE = "simulator"
PERCENT = Decimal("0.01")

# Per-tick standard deviation of the price, as a fraction: ~0.08% a tick looks alive at
# one tick a second without leaving the day's band in minutes.
DEFAULT_VOLATILITY = 0.0008
# Fraction of the distance to the reference recovered per tick (a weak mean reversion).
DEFAULT_REVERSION = 0.002
# Shares traded between two ticks: 1 to 50 round lots (units of 10 for lot-of-1 assets).
MAX_LOTS_PER_TICK = 50


def _kernel_trading_day(moment: datetime) -> date:
    from mybroker.calendar import b3_calendar  # lazy: exchange-calendars loads on first use

    return b3_calendar().trading_day(moment)


@dataclass
class _Walk:
    rng: random.Random
    lot_unit: int
    previous_close: int  # ticks
    price: int  # ticks
    day: date | None = None
    volume: int = 0  # cumulative for the day


class MarketSimulator:
    """A pure quote generator (no I/O, no clock): `next_tick(ticker, now)`."""

    def __init__(
        self,
        catalog: Iterable[CatalogEntry] | None = None,
        seed: int | None = None,
        *,
        volatility: float = DEFAULT_VOLATILITY,
        reversion: float = DEFAULT_REVERSION,
        trading_day: Callable[[datetime], date] = _kernel_trading_day,
    ):
        self.volatility = volatility
        self.reversion = reversion
        self.trading_day = trading_day
        # Without a seed every run differs; SystemRandom seeds each stream from the OS.
        base = seed if seed is not None else random.SystemRandom().getrandbits(64)
        self._base = base
        self._walks: dict[str, _Walk] = {}
        for entry in catalog if catalog is not None else load_catalog():
            reference = max(1, to_ticks(entry.reference_price))
            self._walks[entry.ticker] = _Walk(
                rng=random.Random(f"{base}:{entry.ticker}"),
                lot_unit=entry.lot_size if entry.lot_size > 1 else 10,
                previous_close=reference,
                price=reference,
            )

    def resume(self, last_quotes: Mapping[str, Mapping]) -> list[str]:
        """Continues each ticker's walk from its last quote (a Quote payload), answering the
        tickers resumed. The previous close is the quote's price less its change, the day
        the quote's trading day, the day's volume its volume. The ticker's random stream
        is re-derived from the seed and that starting point: the same seed and the same
        persisted quote give the same continuation, and a restart does not replay the
        steps the first run already took. Raises ValueError for a malformed quote."""
        resumed = []
        for ticker, payload in last_quotes.items():
            walk = self._walks.get(ticker)
            if walk is None:
                continue  # a ticker no longer simulated: nothing to continue
            quote = Quote.from_payload(payload)
            price, change = to_ticks(quote.price), to_ticks(quote.change)
            if price < 1 or price - change < 1:
                raise ValueError(f"{ticker}: a last quote of {quote.price} (change {quote.change}) cannot be continued")
            if quote.time.tzinfo is None:
                raise ValueError(f"{ticker}: the last quote's time has no offset")
            time = quote.time.astimezone(timezone.utc)
            day = self.trading_day(time)  # may refuse (outside the calendar): before any change
            walk.rng = random.Random(f"{self._base}:{ticker}:{price}:{time.isoformat()}")
            walk.price, walk.previous_close = price, price - change
            walk.day, walk.volume = day, quote.volume
            resumed.append(ticker)
        return resumed

    @property
    def tickers(self) -> list[str]:
        return list(self._walks)

    def next_tick(self, ticker: str, now: datetime) -> dict:
        walk = self._walks.get(ticker)
        if walk is None:
            raise ValueError(f"{ticker} is not in the simulated catalog")
        today = self.trading_day(now)
        if walk.day != today:
            # A new session: yesterday's last price is today's previous close.
            if walk.day is not None:
                walk.previous_close = walk.price
            walk.day, walk.volume = today, 0
        pull = self.reversion * (walk.previous_close - walk.price)
        step = round(walk.rng.gauss(pull, self.volatility * walk.price))
        walk.price = max(1, walk.price + step)
        walk.volume += walk.rng.randint(1, MAX_LOTS_PER_TICK) * walk.lot_unit
        return quote_payload(ticker, walk.price, walk.previous_close, walk.volume, now)

    async def next_round(self, now: datetime) -> list[dict]:
        return [self.next_tick(ticker, now) for ticker in self._walks]


def quote_payload(ticker: str, price_ticks: int, previous_close_ticks: int, volume: int, now: datetime) -> dict:
    """The Quote message data (docs/internals.md); change is against the previous close."""
    price, previous_close = from_ticks(price_ticks), from_ticks(previous_close_ticks)
    change = price - previous_close
    return Quote(
        ticker=ticker,
        price=price,
        change=change,
        # A Float in the contract; rounded here from exact decimals, not float arithmetic.
        change_percent=float((change * 100 / previous_close).quantize(PERCENT)),
        volume=volume,
        time=now,
        source=SOURCE,
    ).payload()


async def resume_from_cache(simulator: MarketSimulator, cache: Cache) -> list[str]:
    """Continues the simulator from the latest quotes the platform keeps (the assets
    subgraph's, restored from its database at start: docs/design.md, "Continuity").
    A ticker with no quote starts from its reference; one whose cached quote cannot be
    read is logged and starts from its reference too, rather than keeping the feed down."""
    tickers = simulator.tickers
    raw = await cache.get_many([latest_quote_key(ticker) for ticker in tickers])
    resumed: list[str] = []
    for ticker, value in zip(tickers, raw):
        if value is None:
            continue
        try:
            resumed += simulator.resume({ticker: orjson.loads(value)})
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            log.warning("the latest quote of %s cannot be continued; it starts from its reference", ticker, exc_info=True)
    if resumed:
        log.info("simulated market continues from the last quotes of %d tickers", len(resumed))
    return resumed
