"""Orders and executions in and out of the database, as domain objects. Every function
takes the session of the caller's transaction; none commits."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple, Sequence

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.orders.domain import LIVE, Fill, Order, OrderFilter, OrderSide, OrderStatus, OrderType, PendingRequest, TimeInForce
from subgraphs.orders.tables import executions, orders

# The statuses clients read while a request is under way, and the request behind each.
_PENDING_STATUS = {OrderStatus.PENDING_CANCEL: PendingRequest.CANCEL, OrderStatus.PENDING_REPLACE: PendingRequest.REPLACE}


def _row_to_order(row: Any) -> Order:
    return Order(
        id=row.id,
        user_id=row.user_id,
        ticker=row.ticker,
        side=OrderSide(row.side),
        type=OrderType(row.type),
        time_in_force=TimeInForce(row.time_in_force),
        quantity=row.quantity,
        limit_price=row.limit_price,
        protection_price=row.protection_price,
        client_order_id=row.client_order_id,
        status=OrderStatus(row.status),
        filled_quantity=row.filled_quantity,
        filled_value=row.filled_value,
        reason=row.reason,
        cancel_requested_at=row.cancel_requested_at,
        pending=None if row.pending is None else PendingRequest(row.pending),
        stop_price=row.stop_price,
        triggered_at=row.triggered_at,
        oco_sibling_id=row.oco_sibling_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# The order path's statements, built once: building one costs SQLAlchemy more than SQLite
# takes to run it, and a filled order runs each of these several times.
_STATE_COLUMNS = ("status", "filled_quantity", "filled_value", "reason", "cancel_requested_at", "pending", "triggered_at", "updated_at")
_BY_ID = select(orders).where(orders.c.id == bindparam("order_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()  # serialises a report and a cancel on MySQL/PostgreSQL; SQLite already does
_INSERT = insert(orders)
# Bind names apart from the columns': SQLAlchemy reserves a column's own name for SET.
_SAVE = (
    update(orders)
    .where(orders.c.id == bindparam("k_id"))
    .values({name: bindparam(f"v_{name}") for name in (*_STATE_COLUMNS, "quantity", "limit_price")})
)
_INSERT_FILL = insert(executions)
_FILL_EXISTS = select(executions.c.id).where(executions.c.id == bindparam("execution_id"))


def _state(order: Order) -> dict[str, Any]:
    return {
        "status": order.status.value,
        "filled_quantity": order.filled_quantity,
        "filled_value": order.filled_value,
        "reason": order.reason,
        "cancel_requested_at": order.cancel_requested_at,
        "pending": None if order.pending is None else order.pending.value,
        "triggered_at": order.triggered_at,
        "updated_at": order.updated_at,
    }


async def add(session: AsyncSession, order: Order) -> None:
    await session.execute(
        _INSERT,
        dict(
            id=order.id,
            user_id=order.user_id,
            client_order_id=order.client_order_id,
            ticker=order.ticker,
            side=order.side.value,
            type=order.type.value,
            time_in_force=order.time_in_force.value,
            quantity=order.quantity,
            limit_price=order.limit_price,
            protection_price=order.protection_price,
            stop_price=order.stop_price,
            oco_sibling_id=order.oco_sibling_id,
            created_at=order.created_at,
            **_state(order),
        ),
    )


async def save(session: AsyncSession, order: Order) -> None:
    """Writes what the state machine may change (B3's REPLACED changes quantity and limit)."""
    changes = {**_state(order), "quantity": order.quantity, "limit_price": order.limit_price}
    await session.execute(_SAVE, {"k_id": order.id} | {f"v_{name}": value for name, value in changes.items()})


async def save_terms(session: AsyncSession, order: Order) -> None:
    """Writes the terms a placement asked for over those of the lost order that closed its
    id (orphans.OrphanCheck.complete); the state stays as it is."""
    await session.execute(
        update(orders)
        .where(orders.c.id == order.id)
        .values(
            ticker=order.ticker,
            type=order.type.value,
            time_in_force=order.time_in_force.value,
            limit_price=order.limit_price,
            protection_price=order.protection_price,
            stop_price=order.stop_price,
            client_order_id=order.client_order_id,
        )
    )


async def get(session: AsyncSession, order_id: str, *, for_update: bool = False) -> Order | None:
    row = (await session.execute(_BY_ID_FOR_UPDATE if for_update else _BY_ID, {"order_id": order_id})).first()
    return _row_to_order(row) if row else None


async def by_client_order_id(session: AsyncSession, user_id: str, client_order_id: str) -> Order | None:
    row = (
        await session.execute(select(orders).where(orders.c.user_id == user_id, orders.c.client_order_id == client_order_id))
    ).first()
    return _row_to_order(row) if row else None


def _reads_as(status: OrderStatus):
    """The rows whose order reads `status` (a live order with a request under way reads
    PENDING_CANCEL or PENDING_REPLACE, not its stored status)."""
    if status in _PENDING_STATUS:
        return and_(orders.c.pending == _PENDING_STATUS[status].value, orders.c.status.in_([s.value for s in LIVE]))
    if status in LIVE:
        return and_(orders.c.status == status.value, orders.c.pending.is_(None))
    return orders.c.status == status.value


async def of_user(session: AsyncSession, user_id: str, status: OrderStatus | None, first: int) -> list[Order]:
    """Newest first."""
    query = select(orders).where(orders.c.user_id == user_id)
    if status is not None:
        query = query.where(_reads_as(status))
    rows = (await session.execute(query.order_by(orders.c.seq.desc()).limit(first))).all()
    return [_row_to_order(row) for row in rows]


async def history_of(
    session: AsyncSession, user_id: str, wanted: OrderFilter, before_seq: int | None, limit: int
) -> list[tuple[int, Order]]:
    """Newest first, after the cursor (`before_seq`), at most `limit` rows, with their seq."""
    query = select(orders).where(orders.c.user_id == user_id)
    if before_seq is not None:
        query = query.where(orders.c.seq < before_seq)
    if wanted.tickers:
        query = query.where(orders.c.ticker.in_(wanted.tickers))
    if wanted.sides:
        query = query.where(orders.c.side.in_([side.value for side in wanted.sides]))
    if wanted.statuses:
        query = query.where(or_(*(_reads_as(status) for status in wanted.statuses)))
    if wanted.since is not None:
        query = query.where(orders.c.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(orders.c.created_at < wanted.until)
    rows = (await session.execute(query.order_by(orders.c.seq.desc()).limit(limit))).all()
    return [(row.seq, _row_to_order(row)) for row in rows]


async def add_fill(session: AsyncSession, order_id: str, fill: Fill) -> None:
    await session.execute(
        _INSERT_FILL,
        dict(id=fill.execution_id, order_id=order_id, quantity=fill.quantity, price=fill.price, executed_at=fill.executed_at),
    )


async def fill_exists(session: AsyncSession, execution_id: str) -> bool:
    row = (await session.execute(_FILL_EXISTS, {"execution_id": execution_id})).first()
    return row is not None


async def fills_of(session: AsyncSession, order_ids: Sequence[str]) -> list[list[Fill]]:
    """The fills of each order, oldest first, in the order of `order_ids` (one query)."""
    by_order: dict[str, list[Fill]] = defaultdict(list)
    if order_ids:
        rows = (
            await session.execute(
                select(executions)
                .where(executions.c.order_id.in_(set(order_ids)))
                .order_by(executions.c.seq)
            )
        ).all()
        for row in rows:
            by_order[row.order_id].append(Fill(row.id, row.quantity, row.price, row.executed_at))
    return [by_order.get(order_id, []) for order_id in order_ids]


class LiveOrder(NamedTuple):
    """What reconciliation asks B3 about: the order, its ticker, and where the page ends."""

    seq: int
    id: str
    ticker: str


async def live_orders(session: AsyncSession, *, after: int, pending_before: datetime, limit: int) -> list[LiveOrder]:
    """The orders B3 should hold, in `seq` order from after `after`: OPEN and
    PARTIALLY_FILLED (with a request under way or not), and PENDING ones created at or
    before `pending_before` (a NewOrder just sent is not late yet)."""
    live = or_(
        orders.c.status.in_([OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value]),
        and_(orders.c.status == OrderStatus.PENDING.value, orders.c.created_at <= pending_before),
    )
    query = select(orders.c.seq, orders.c.id, orders.c.ticker).where(orders.c.seq > after, live)
    rows = (await session.execute(query.order_by(orders.c.seq).limit(limit))).all()
    return [LiveOrder(row.seq, row.id, row.ticker) for row in rows]
