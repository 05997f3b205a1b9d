"""The reservation and settlement API orders calls (docs/internals.md): block before an
order is stored, change the terms for a replace, and settle each of B3's reports before
the order's new status is stored.

Bodies are parsed by hand so that every refusal is the contract's {"code", "message"}
(mybroker.service answers DomainError as 422), not FastAPI's validation format."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request

from mybroker.errors import DomainError, ErrorCode, bad_input
from mybroker.money import format_money
from mybroker.service import internal_api
from subgraphs.wallet.domain import SettlementError
from subgraphs.wallet.service import Fill, WalletService


def reservations_router(service: WalletService, secret: str) -> APIRouter:
    router = internal_api(secret)

    @router.post("/reservations")
    async def reserve(request: Request) -> dict[str, Any]:
        body = await _json_object(request)
        reservation = await service.reserve(
            order_id=_text(body, "orderId"),
            user_id=_text(body, "userId"),
            side=_text(body, "side"),
            ticker=_text(body, "ticker"),
            quantity=_quantity(body.get("quantity")),
            price_per_share=_price(body.get("pricePerShare")),
        )
        return {"orderId": reservation.order_id, "amount": format_money(reservation.amount)}

    @router.put("/reservations/{order_id}")
    async def set_terms(order_id: str, request: Request) -> dict[str, Any]:
        body = await _json_object(request)
        reservation = await service.set_terms(order_id, _quantity(body.get("quantity")), _price(body.get("pricePerShare")))
        return _reservation_state(reservation)

    @router.post("/settlements")
    async def settle(request: Request) -> dict[str, Any]:
        body = await _json_object(request)
        fill = None
        if body.get("executionId") is not None:
            price = _price(body.get("price"))
            if price is None:
                raise bad_input("'price' is required with 'executionId'.")
            fill = Fill(_text(body, "executionId"), _quantity(body.get("quantity")), price)
        closed = body.get("closed", False)
        if not isinstance(closed, bool):
            raise bad_input("'closed' must be true or false.")
        try:
            reservation = await service.settle(_text(body, "orderId"), fill, closed)
        except SettlementError as exc:
            # A fill the reservation cannot account for is a bug upstream: orders must not
            # retry it forever, so it is a refusal (its bus dead-letters the report).
            raise DomainError(ErrorCode.INTERNAL_SERVER_ERROR, str(exc)) from None
        return {"orderId": body["orderId"], "reservation": None if reservation is None else _reservation_state(reservation)}

    @router.delete("/reservations/{order_id}")
    async def release(order_id: str) -> dict[str, Any]:
        reservation = await service.cancel_reservation(order_id)
        return {"orderId": order_id, "released": reservation is not None}

    return router


def _reservation_state(reservation) -> dict[str, Any]:
    return {
        "orderId": reservation.order_id,
        "quantity": reservation.quantity,
        "openQuantity": reservation.open_quantity,
        "blockedAmount": format_money(reservation.blocked_amount),
        "status": reservation.status.value,
    }


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_input("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise bad_input("The body must be a JSON object.")
    return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_input(f"'{name}' is required.")
    return value


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise bad_input("'quantity' must be a positive integer.")
    return value


def _price(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise bad_input("'pricePerShare' must be a decimal string.")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad_input(f"'pricePerShare' {value!r} is not a decimal number.") from None
    if not price.is_finite():
        raise bad_input("'pricePerShare' must be a finite number.")
    return price
