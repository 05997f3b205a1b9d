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
