"""Whether a reservation has an order behind it, answered so that the answer stays true.

The wallet's sweeper asks about reservations older than their grace (subgraphs/wallet/
sweeper.py, through internal_api.py); placeOrder asks the same when its own save failed.
"exists": the order is stored. "absent": it is not, and now never can be: in the same
step a lost order (idempotency.lost_order) takes the order's id, so a placement still
trying to save that order fails on the unique id instead of committing an order whose
money is being released. Only after "absent" does the wallet release."""
from __future__ import annotations

import logging
from datetime import datetime
from enum import Enum
from typing import Callable

from mybroker.db import Database, is_unique_violation, utc_now
from mybroker.events import ORDER_EVENTS
from subgraphs.orders import repository, wire
from subgraphs.orders.domain import Order, OrderRequest
from subgraphs.orders.idempotency import HeldReservation, as_lost, completed, is_lost, lost_order
from subgraphs.orders.metrics import OrdersMetrics

log = logging.getLogger("mybroker.orders")


class Presence(str, Enum):
    EXISTS = "exists"
    ABSENT = "absent"


class OrphanCheck:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now, metrics: OrdersMetrics | None = None):
        self.db = db
        self.clock = clock
        self.metrics = metrics

    async def check(self, held: HeldReservation, *, known: Order | None = None) -> Presence:
        """`known`: the order as its placement asked for it, when the caller has it (the
        lost order then keeps its real terms)."""
        presence = await self._check(held, known)
        if self.metrics is not None:
            self.metrics.reservation_checks.labels(presence.value).inc()
        return presence

    async def _check(self, held: HeldReservation, known: Order | None) -> Presence:
        async with self.db.read() as session:
            stored = await repository.get(session, held.order_id)
        if stored is not None:
            return _presence(stored)
        now = self.clock()
        lost = lost_order(held, now) if known is None else as_lost(known, now)
        try:
            async with self.db.transaction() as tx:
                await repository.add(tx.session, lost)
                await tx.emit(ORDER_EVENTS, wire.order_updated(lost), key=lost.id)
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            # The placement (or another check) committed the id first: its row is the answer.
            async with self.db.read() as session:
                stored = await repository.get(session, held.order_id)
            if stored is None:
                raise
            return _presence(stored)
        log.warning(
            "order %s of user %s was never stored; closed it as lost so the wallet can release its reservation",
            held.order_id,
            held.user_id,
        )
        if self.metrics is not None:
            self.metrics.lost_placements.inc()
        return Presence.ABSENT

    async def complete(self, lost: Order, request: OrderRequest, protection_price) -> Order:
        """The lost order with the terms its placement asked for (best effort: it is only
        a better description of an order that ended; a failure keeps the wallet's terms)."""
        better = completed(lost, request, protection_price)
        if better is None:
            return lost
        try:
            async with self.db.transaction() as tx:
                current = await repository.get(tx.session, lost.id, for_update=True)
                if current is None or not is_lost(current):
                    return lost
                await repository.save_terms(tx.session, better)
                await tx.emit(ORDER_EVENTS, wire.order_updated(better), key=better.id)
        except Exception:  # noqa: BLE001 - the caller answers with the order as it is
            log.warning("could not complete the terms of lost order %s", lost.id, exc_info=True)
            return lost
        return better


def _presence(order: Order) -> Presence:
    # A lost order is the closed id itself: asking again must answer "absent" again, so a
    # release that failed after the first answer is retried by the next sweep.
    return Presence.ABSENT if is_lost(order) else Presence.EXISTS
