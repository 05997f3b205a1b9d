"""The asset catalog shipped with the product (tickers, names, types, lots, reference prices)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class CatalogEntry:
    ticker: str
    name: str
    type: str
    lot_size: int
    reference_price: Decimal


@lru_cache(maxsize=1)
def load_catalog() -> tuple[CatalogEntry, ...]:
    raw = json.loads(resources.files("mybroker").joinpath("data/b3-assets.json").read_text(encoding="utf-8"))
    return tuple(
        CatalogEntry(a["ticker"], a["name"], a["type"], int(a["lotSize"]), Decimal(a["referencePrice"])) for a in raw["assets"]
    )


# B3's fractional market: a round-lot ticker's odd lots (1 to lot-1 shares) trade under the
# ticker with this suffix (PETR4F) and are the same shares (one position, in PETR4).
FRACTIONAL_SUFFIX = "F"


def fractional_ticker(ticker: str) -> str:
    return ticker + FRACTIONAL_SUFFIX


def standard_ticker(ticker: str, catalog: tuple[CatalogEntry, ...] | None = None) -> str:
    """The ticker whose shares `ticker` trades: PETR4 for PETR4F when PETR4 is a round-lot
    ticker of the catalog; any other ticker is its own."""
    if not ticker.endswith(FRACTIONAL_SUFFIX):
        return ticker
    base = ticker[: -len(FRACTIONAL_SUFFIX)]
    lots = _lot_sizes(load_catalog() if catalog is None else catalog)
    return base if lots.get(base, 0) > 1 else ticker


@lru_cache(maxsize=4)
def _lot_sizes(catalog: tuple[CatalogEntry, ...]) -> dict[str, int]:
    return {entry.ticker: entry.lot_size for entry in catalog}
