"""The two services orders asks before an order exists: assets (is the ticker tradable, at
what lot and price?) and wallet (block the cash or shares). The service layer depends on
the small interfaces; the HTTP adapters speak the internal APIs of docs/internals.md."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from urllib.parse import quote

from mybroker.errors import DomainError, ErrorCode
from mybroker.internal_http import InternalClient
from mybroker.money import format_money
from subgraphs.orders.domain import Fill, Order
from subgraphs.orders.wire import last_fill

log = logging.getLogger("mybroker.orders")


@dataclass(frozen=True)
class AssetInfo:
    ticker: str
    lot_size: int
    active: bool
    last_price: Decimal | None
    # A fractional market (PETR4F) takes at most this many shares; None: no cap.
    max_quantity: int | None = None


@dataclass(frozen=True)
class Reservation:
    order_id: str
    user_id: str
    side: str
    ticker: str
    quantity: int
    price_per_share: Decimal


@dataclass(frozen=True)
class FillToSettle:
    execution_id: str
    quantity: int
    price: Decimal


class AssetDirectory(Protocol):
    async def asset(self, ticker: str) -> AssetInfo:
        """Raises DomainError(UNKNOWN_ASSET) for a ticker not in the catalog."""


class Reservations(Protocol):
    async def reserve(self, reservation: Reservation) -> None:
        """Check-and-block, idempotent by order id; raises INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION."""

    async def release(self, order_id: str) -> None:
        """Releases whatever the reservation still holds; idempotent."""

    async def set_terms(self, order_id: str, quantity: int, price_per_share: Decimal | None) -> None:
        """Makes the reservation hold exactly what these terms need (a replace); raises
        INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION when it cannot grow."""

    async def settle(self, order_id: str, fill: "FillToSettle | None", closed: bool) -> None:
        """Settles a fill (once per execution id) and, when `closed`, releases what is left."""


class FillProjection(Protocol):
    async def record_fill(self, order: "Order", fill: "Fill") -> None:
        """Hands a fill to the portfolio projection before the order shows it; best effort
        (never raises): the projection also reads every fill from the order events."""


class AssetsClient:
    def __init__(self, http: InternalClient):
        self.http = http

    async def asset(self, ticker: str) -> AssetInfo:
        body = await self.http.call("GET", f"/internal/assets/{quote(ticker, safe='')}")
        if not isinstance(body, dict) or "ticker" not in body:
            raise DomainError(ErrorCode.UNKNOWN_ASSET, f"Unknown asset {ticker!r}.")
        last = body.get("lastPrice")
        return AssetInfo(
            ticker=body["ticker"],
            lot_size=int(body["lotSize"]),
            active=bool(body.get("active", True)),
            last_price=None if last is None else Decimal(str(last)),
            max_quantity=None if body.get("maxQuantity") is None else int(body["maxQuantity"]),
        )

    async def close(self) -> None:
        await self.http.close()


class ReportsClient:
    """The reports service's fill intake, so `portfolio` is as fresh as the order."""

    def __init__(self, http: InternalClient):
        self.http = http

    async def record_fill(self, order: Order, fill: Fill) -> None:
        body = {
            "orderId": order.id,
            "userId": order.user_id,
            "ticker": order.ticker,
            "side": order.side.value,
            "lastFill": last_fill(fill).payload(),
        }
        try:
            await self.http.call("POST", "/internal/fills", body)
        except Exception as exc:  # noqa: BLE001 - the order events carry the fill as well
            log.warning("reports did not take fill %s of order %s now (%r); it follows from the order events", fill.execution_id, order.id, exc)

    async def close(self) -> None:
        await self.http.close()


class WalletClient:
    def __init__(self, http: InternalClient):
        self.http = http

    async def reserve(self, reservation: Reservation) -> None:
        await self.http.call(
            "POST",
            "/internal/reservations",
            {
                "orderId": reservation.order_id,
                "userId": reservation.user_id,
                "side": reservation.side,
                "ticker": reservation.ticker,
                "quantity": reservation.quantity,
                "pricePerShare": format_money(reservation.price_per_share),
            },
        )

    async def release(self, order_id: str) -> None:
        await self.http.call("DELETE", f"/internal/reservations/{quote(order_id, safe='')}")

    async def set_terms(self, order_id: str, quantity: int, price_per_share: Decimal | None) -> None:
        body = {"quantity": quantity, "pricePerShare": None if price_per_share is None else format_money(price_per_share)}
        await self.http.call("PUT", f"/internal/reservations/{quote(order_id, safe='')}", body)

    async def settle(self, order_id: str, fill: FillToSettle | None, closed: bool) -> None:
        body: dict = {"orderId": order_id, "closed": closed}
        if fill is not None:
            body.update(executionId=fill.execution_id, quantity=fill.quantity, price=format_money(fill.price))
        await self.http.call("POST", "/internal/settlements", body)

    async def close(self) -> None:
        await self.http.close()
