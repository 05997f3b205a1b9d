"""The fills reports folds, mapped from the kernel's wire types (mybroker.wire holds the
decoding): the `lastFill` of an OrderUpdated on order-events-v1, and the same fields when
orders hands a fill over (`POST /internal/fills`: `{orderId, userId, ticker, side,
lastFill}`, docs/internals.md)."""
from __future__ import annotations

from datetime import timezone
from decimal import InvalidOperation
from typing import Any, Mapping

from mybroker import wire
from mybroker.catalog import standard_ticker
from mybroker.money import CENT
from mybroker.trading import OrderSide
from subgraphs.reports.domain import Fill


def fill_of(update: wire.OrderUpdated) -> Fill | None:
    """The fill an OrderUpdated carries, or None when the change is not a fill.
    Raises ValueError for a fill no exchange could have made."""
    if update.last_fill is None:
        return None
    return _fill(update.order_id, update.user_id, update.ticker, update.side, update.last_fill)


def handed_fill(body: Mapping[str, Any]) -> Fill | None:
    """The fill orders hands over (its OrderUpdated's fields for it), or None without a
    `lastFill`. Raises ValueError for a body that does not fit."""
    last = body.get("lastFill")
    if not last:
        return None
    try:
        return _fill(str(body["orderId"]), str(body["userId"]), str(body["ticker"]), OrderSide(body["side"]), wire.LastFill.from_payload(last))
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise ValueError(f"malformed fill: {exc!r}") from None


def _fill(order_id: str, user_id: str, ticker: str, side: OrderSide, last: wire.LastFill) -> Fill:
    fill = Fill(
        execution_id=last.execution_id,
        order_id=order_id,
        user_id=user_id,
        # A fractional fill (PETR4F) delivers the standard ticker's shares.
        ticker=standard_ticker(ticker.upper()),
        side=side,
        quantity=last.quantity,
        price=last.price,
        executed_at=last.executed_at.astimezone(timezone.utc),
        traded_ticker=ticker.upper(),
    )
    if fill.quantity <= 0 or fill.price <= 0 or fill.price != fill.price.quantize(CENT):
        raise ValueError(f"implausible fill {fill.execution_id}: {fill.quantity} @ {fill.price}")
    return fill
