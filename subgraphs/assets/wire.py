"""The assets subgraph's view of the wire: a Quote (mybroker.wire decodes it) as the tick
its candles and latest quotes fold."""
from __future__ import annotations

from datetime import timezone
from decimal import InvalidOperation
from typing import Any, Mapping

from mybroker import wire
from mybroker.money import CENT
from subgraphs.assets.domain import QuoteTick, normalise_ticker


def quote_tick(quote: wire.Quote) -> QuoteTick:
    """Raises ValueError for a quote without an offset on its time (it could be any hour)."""
    if quote.time.tzinfo is None:
        raise ValueError("quote time has no offset")
    return QuoteTick(
        ticker=normalise_ticker(quote.ticker),
        price=quote.price.quantize(CENT),
        change=quote.change.quantize(CENT),
        change_percent=round(quote.change_percent, 2),
        volume=quote.volume,
        time=quote.time.astimezone(timezone.utc),
    )


def tick_of(data: Mapping[str, Any]) -> QuoteTick:
    """A Quote payload (from the bus or the latest-quote cache) as a tick. Raises ValueError
    for one that does not fit the contract."""
    try:
        return quote_tick(wire.Quote.from_payload(data))
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise ValueError(f"malformed quote payload: {exc!r}") from None
