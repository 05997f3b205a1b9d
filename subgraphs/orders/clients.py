"""The two services orders asks before an order exists: assets (is the ticker tradable, at
what lot and price?) and wallet (block the cash or shares). The service layer depends on
the small interfaces; the HTTP adapters speak the internal APIs of docs/internals.md."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from urllib.parse import quote

from mybroker.errors import DomainError, ErrorCode
from mybroker.internal_http import InternalClient
from mybroker.money import format_money


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


class AssetDirectory(Protocol):
    async def asset(self, ticker: str) -> AssetInfo:
        """Raises DomainError(UNKNOWN_ASSET) for a ticker not in the catalog."""


class Reservations(Protocol):
    async def reserve(self, reservation: Reservation) -> None:
        """Check-and-block, idempotent by order id; raises INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION."""

    async def release(self, order_id: str) -> None:
        """Releases whatever the reservation still holds; idempotent."""


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

    async def close(self) -> None:
        await self.http.close()
