"""The offline market feed: a seeded random walk per ticker from the catalog's reference
prices (taken as the previous close).

Prices walk in whole ticks (R$0.01), so they are always on B3's grid and never float
money; each step is a normal draw scaled by the price, with a weak pull back toward the
reference so a long session stays inside plausible bands. Each ticker has its own random
stream derived from the seed, so a ticker's ticks do not depend on which others are
asked for or in what order."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterable

from mybroker.catalog import CatalogEntry, load_catalog
from mybroker.money import from_ticks, to_ticks
from mybroker.wire import Quote

SOURCE = "simulator"
PERCENT = Decimal("0.01")

# Per-tick standard deviation of the price, as a fraction: ~0.08% a tick looks alive at
# one tick a second without leaving the day's band in minutes.
DEFAULT_VOLATILITY = 0.0008
# Fraction of the distance to the reference recovered per tick (a weak mean reversion).
DEFAULT_REVERSION = 0.002
# Shares traded between two ticks: 1 to 50 round lots (units of 10 for lot-of-1 assets).
MAX_LOTS_PER_TICK = 50


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
    ):
        self.volatility = volatility
        self.reversion = reversion
        # Without a seed every run differs; SystemRandom seeds each stream from the OS.
        base = seed if seed is not None else random.SystemRandom().getrandbits(64)
        self._walks: dict[str, _Walk] = {}
        for entry in catalog if catalog is not None else load_catalog():
            reference = max(1, to_ticks(entry.reference_price))
            self._walks[entry.ticker] = _Walk(
                rng=random.Random(f"{base}:{entry.ticker}"),
                lot_unit=entry.lot_size if entry.lot_size > 1 else 10,
                previous_close=reference,
                price=reference,
            )

    @property
    def tickers(self) -> list[str]:
        return list(self._walks)

    def next_tick(self, ticker: str, now: datetime) -> dict:
        walk = self._walks.get(ticker)
        if walk is None:
            raise ValueError(f"{ticker} is not in the simulated catalog")
        today = now.astimezone(timezone.utc).date()
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
