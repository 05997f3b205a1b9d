"""The orders service's internal API (docs/internals.md), behind the internal secret like
the wallet's: the wallet's sweeper asks whether reservations have an order behind them,
and `mybroker reconcile` runs a reconciliation pass with the exchange.

Bodies are parsed by hand so that every refusal is the contract's {"code", "message"}."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request

from mybroker.errors import DomainError, bad_input
from mybroker.events import parse_iso
from mybroker.service import internal_api
from subgraphs.orders.domain import OrderSide
from subgraphs.orders.idempotency import HeldReservation
from subgraphs.orders.orphans import OrphanCheck
from subgraphs.orders.reconcile import Reconciler

MAX_CHECKS = 500  # reservations per request; the sweeper sends batches
MAX_WAIT = 600.0  # seconds a reconcile request may wait for the exchange's answers


def orders_internal_router(orphans: OrphanCheck, reconciler: Reconciler, secret: str) -> APIRouter:
    router = internal_api(secret)

    @router.post("/reservation-checks")
    async def check_reservations(request: Request) -> dict[str, Any]:
        """{"reservations": [{orderId, userId, side, ticker, quantity, pricePerShare,
        createdAt}]} -> {"orders": {orderId: "exists" | "absent"}, "refused": {orderId:
        why}}. "absent" is final: the order id is closed (a lost order), so the wallet may
        release the reservation. A reservation no order could have (a malformed row) is
        refused, and stays blocked for someone to look at."""
        body = await _json_object(request)
        items = body.get("reservations")
        if not isinstance(items, list) or len(items) > MAX_CHECKS:
            raise bad_input(f"'reservations' must be a list of at most {MAX_CHECKS}.")
        answers: dict[str, str] = {}
        refused: dict[str, str] = {}
        for item in items:  # one at a time, each in its own transaction: a bad row holds up no other
            try:
                reservation = _held(item)
            except DomainError as exc:
                order_id = item.get("orderId") if isinstance(item, dict) else None
                refused[str(order_id)] = exc.message
                continue
            answers[reservation.order_id] = (await orphans.check(reservation)).value
        return {"orders": answers, "refused": refused}

    @router.post("/reconcile")
    async def reconcile(request: Request) -> dict[str, Any]:
        """One reconciliation pass with the exchange; {"wait": seconds} bounds how long it
        waits for the answers (default: the service's setting)."""
        body = await _json_object(request, allow_empty=True)
        wait = body.get("wait")
        if wait is not None and (isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= MAX_WAIT):
            raise bad_input(f"'wait' must be a number of seconds from 0 to {MAX_WAIT:g}.")
        summary = await reconciler.run(wait=None if wait is None else float(wait))
        return summary.as_dict()

    return router


def _held(item: Any) -> HeldReservation:
    if not isinstance(item, dict):
        raise bad_input("Each reservation must be a JSON object.")
    try:
        side = OrderSide(item.get("side"))
    except ValueError:
        raise bad_input(f"Unknown side {item.get('side')!r}; expected BUY or SELL.") from None
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise bad_input("'quantity' must be a positive integer.")
    price = item.get("pricePerShare", "0")
    try:
        price_per_share = Decimal(str(price))
    except InvalidOperation:
        raise bad_input(f"'pricePerShare' {price!r} is not a decimal number.") from None
    if not price_per_share.is_finite() or price_per_share < 0:
        raise bad_input("'pricePerShare' must be a non-negative number.")
    created = item.get("createdAt")
    try:
        created_at = None if created is None else parse_iso(str(created))
    except ValueError:
        raise bad_input(f"'createdAt' {created!r} is not an ISO-8601 time.") from None
    return HeldReservation(
        order_id=_text(item, "orderId", 36),
        user_id=_text(item, "userId", 64),
        side=side,
        ticker=_text(item, "ticker", 16).upper(),
        quantity=quantity,
        price_per_share=price_per_share,
        created_at=created_at,
    )


def _text(body: dict[str, Any], name: str, max_length: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_length:
        raise bad_input(f"'{name}' is required (at most {max_length} characters).")
    return value.strip()


async def _json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if allow_empty and not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise bad_input("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise bad_input("The body must be a JSON object.")
    return body
