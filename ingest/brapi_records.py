"""Brapi quote records to Quote payloads (docs/internals.md). Pure: no I/O, no clock.

Every record is checked before it becomes a quote: Brapi answers JSON numbers (floats),
sometimes nulls for a ticker without trades, and a record that does not fit must never
reach the bus. Prices become Decimals through their decimal text (never float
arithmetic) rounded to the centavo; `change` and `changePercent` are recomputed from the
price and the previous close, so they always agree with the prices published."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Mapping

from mybroker.events import parse_iso
from mybroker.money import CENT
from mybroker.wire import Quote

SOURCE = "brapi"
PERCENT = Decimal("0.01")


class InvalidRecord(ValueError):
    """A Brapi record that cannot become a quote; `reason` is a short, countable label."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _price(record: Mapping[str, Any], field: str) -> Decimal:
    value = record.get(field)
    # bool is an int in Python; a JSON true is never a price.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidRecord("bad_price", f"{field} is {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRecord("bad_price", f"{field} is {value!r}")
    try:
        # repr() of a float is its shortest round-tripping decimal: 31.42 -> "31.42".
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise InvalidRecord("bad_price", f"{field} is {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidRecord("bad_price", f"{field} is {value!r}")
    price = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    if price <= 0:
        raise InvalidRecord("bad_price", f"{field} rounds to zero: {value!r}")
    return price


def _volume(record: Mapping[str, Any]) -> int:
    value = record.get("regularMarketVolume")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecord("bad_volume", f"regularMarketVolume is {value!r}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InvalidRecord("bad_volume", f"regularMarketVolume is {value!r}")
    if value < 0:
        raise InvalidRecord("bad_volume", f"regularMarketVolume is {value!r}")
    return int(value)


def _time(record: Mapping[str, Any]) -> datetime:
    value = record.get("regularMarketTime")
    try:
        if isinstance(value, str):
            moment = parse_iso(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):  # older answers: epoch seconds
            moment = datetime.fromtimestamp(value, timezone.utc)
        else:
            raise ValueError
    except (ValueError, OverflowError, OSError):
        raise InvalidRecord("bad_time", f"regularMarketTime is {value!r}") from None
    if moment.tzinfo is None:
        raise InvalidRecord("bad_time", f"regularMarketTime has no offset: {value!r}")
    return moment.astimezone(timezone.utc)


def quote_from_record(record: Any, wanted: frozenset[str] | set[str] | None = None) -> dict[str, Any]:
    """The Quote payload of one Brapi `results[]` record; raises InvalidRecord.

    `wanted` are the tickers asked for: a symbol nobody asked for is refused, so a
    mixed-up answer can never publish one ticker's price under another's name."""
    if not isinstance(record, Mapping):
        raise InvalidRecord("not_an_object", repr(record)[:80])
    symbol = record.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip() or not symbol.strip().isalnum():
        raise InvalidRecord("bad_symbol", f"symbol is {symbol!r}")
    ticker = symbol.strip().upper()
    if wanted is not None and ticker not in wanted:
        raise InvalidRecord("unexpected_symbol", f"{ticker} was not asked for")
    currency = record.get("currency", "BRL")
    if currency != "BRL":
        raise InvalidRecord("bad_currency", f"{ticker} is quoted in {currency!r}")
    price = _price(record, "regularMarketPrice")
    previous_close = _price(record, "regularMarketPreviousClose")
    volume = _volume(record)
    moment = _time(record)
    change = price - previous_close
    return Quote(
        ticker=ticker,
        price=price,
        change=change,
        # A Float in the contract; rounded here from exact decimals, not float arithmetic.
        change_percent=float((change * 100 / previous_close).quantize(PERCENT, rounding=ROUND_HALF_EVEN)),
        volume=volume,
        time=moment,
        source=SOURCE,
    ).payload()


def batches(tickers: list[str], size: int) -> list[list[str]]:
    """Tickers in request-sized groups, in order (the plan caps tickers per request)."""
    if size < 1:
        raise ValueError(f"tickers per request must be at least 1, not {size}")
    return [tickers[i : i + size] for i in range(0, len(tickers), size)]
