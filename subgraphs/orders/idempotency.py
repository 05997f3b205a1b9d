"""placeOrder's idempotency, and the order that was lost while being placed. Pure: no I/O.

An order with a clientOrderId gets an id derived from (user id, clientOrderId), so every
attempt of one placement (a client's retry after a timeout or INTERNAL_SERVER_ERROR, two
racing requests) names the same order: the wallet's reservation, idempotent by order id,
is shared by all of them, and at most one order row can ever hold that id.

A *lost* order is the row the orders service writes, under the order's id, when the
wallet asks about a reservation whose order was never stored (orders died between
reserving and saving, or the save is still stuck past the grace): a REJECTED order that
says so. Its unique id is what makes the answer "absent" final: a late save of that
order fails on the key, so the wallet may release the reservation."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from mybroker.catalog import standard_ticker
from mybroker.errors import DomainError, ErrorCode
from subgraphs.orders.domain import Order, OrderRequest, OrderSide, OrderStatus, OrderType, TimeInForce

# Fixed for ever: changing it would give a retry of an existing placement a new id.
ORDER_ID_NAMESPACE = uuid.UUID("6f1c1b52-8f3e-5b8e-9a53-2b9d3c1a7e41")

LOST_REASON = "The broker lost this order while placing it; nothing was sent to the exchange."


def order_id_for(user_id: str, client_order_id: str) -> str:
    """The id of a user's order with this clientOrderId. The user id is length-prefixed so
    that no two (user, key) pairs can spell the same name."""
    return str(uuid.uuid5(ORDER_ID_NAMESPACE, f"{len(user_id)}:{user_id}:{client_order_id}"))


def is_lost(order: Order) -> bool:
    return order.status is OrderStatus.REJECTED and order.reason == LOST_REASON


def same_terms(order: Order, request: OrderRequest) -> bool:
    """Whether `request` (validated) asks for what `order` is. A lost order knows only what
    the wallet held (side, the standard ticker, quantity), so only those are compared.
    A live order is compared on its current terms: after a replaceOrder, the original
    placement no longer describes it."""
    if is_lost(order):
        return (order.side, order.ticker, order.quantity) == (
            request.side,
            standard_ticker(request.ticker),
            request.quantity,
        )
    return (order.ticker, order.side, order.type, order.quantity, order.limit_price, order.time_in_force, order.stop_price) == (
        request.ticker,
        request.side,
        request.type,
        request.quantity,
        request.limit_price,
        request.time_in_force,
        request.stop_price,
    )


def duplicate_client_order_id(client_order_id: str) -> DomainError:
    return DomainError(
        ErrorCode.DUPLICATE_CLIENT_ORDER_ID,
        f"clientOrderId {client_order_id!r} was already used for an order with other terms; "
        "use a new clientOrderId for a new order.",
    )


def placement_unresolved(client_order_id: str) -> DomainError:
    """Another attempt with this key blocked money on other terms and its order is not
    stored (yet): it is still saving, or it died and the wallet's sweeper will end it."""
    return DomainError(
        ErrorCode.DUPLICATE_CLIENT_ORDER_ID,
        f"An earlier placement with clientOrderId {client_order_id!r} reserved other terms (a MARKET order "
        "reserves at the price of its moment) and is not settled yet; ask again in a minute to see how it ended, "
        "or use a new clientOrderId for a new order.",
    )


def lost_while_placing() -> DomainError:
    """What a placement answers when its own save came too late: the order id was closed
    for good while it was stuck (the reservation is released)."""
    return DomainError(
        ErrorCode.INTERNAL_SERVER_ERROR,
        f"{LOST_REASON} Its reservation is released; place the order again with a new clientOrderId.",
    )


@dataclass(frozen=True)
class HeldReservation:
    """What the wallet holds for an order, as its sweeper reports it."""

    order_id: str
    user_id: str
    side: OrderSide
    ticker: str  # the wallet's (standard) ticker: PETR4 for a PETR4F order
    quantity: int
    price_per_share: Decimal  # what a BUY blocks per share; 0 for a SELL
    created_at: datetime | None = None


def lost_order(held: HeldReservation, at: datetime) -> Order:
    """The REJECTED order written in place of one that was never stored. The wallet does
    not know the type, time in force or limit: it is written as a MARKET DAY order
    protected at the price it blocked (a BUY), and completed from the request if the
    placement or a retry of it comes back (`completed`)."""
    protection = held.price_per_share if held.side is OrderSide.BUY and held.price_per_share > 0 else None
    return Order(
        id=held.order_id,
        user_id=held.user_id,
        ticker=held.ticker,
        side=held.side,
        type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        quantity=held.quantity,
        limit_price=None,
        protection_price=protection,
        created_at=held.created_at or at,
        updated_at=at,
        status=OrderStatus.REJECTED,
        reason=LOST_REASON,
    )


def as_lost(order: Order, at: datetime) -> Order:
    """`order`, never stored, as the lost order that takes its id."""
    return replace(order, status=OrderStatus.REJECTED, reason=LOST_REASON, updated_at=at)


def completed(lost: Order, request: OrderRequest, protection_price: Decimal | None) -> Order | None:
    """The lost order with the terms its placement asked for, or None when it has them
    already (or they do not match what the wallet held)."""
    if not is_lost(lost) or not same_terms(lost, request):
        return None
    terms: dict[str, Any] = dict(
        ticker=request.ticker,
        type=request.type,
        time_in_force=request.time_in_force,
        limit_price=request.limit_price,
        # A LIMIT order has no protection price; a MARKET one had what the wallet blocked.
        protection_price=None if request.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else protection_price,
        stop_price=request.stop_price,
        client_order_id=request.client_order_id,
    )
    if all(getattr(lost, name) == value for name, value in terms.items()):
        return None
    return replace(lost, **terms)
