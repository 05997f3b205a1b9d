"""Releases reservations that have no order behind them, within a bounded time.

placeOrder reserves in the wallet and then stores the order; if orders dies in between
(or its save is stuck), the reservation blocks cash or shares with no order that could
ever release it. Every `interval` seconds the sweeper takes the open reservations older
than `grace` that orders has not confirmed yet and asks orders about them
(`POST /internal/reservation-checks`). Orders answers atomically: "exists" (the order is
stored: remembered in `order_seen_at`, never asked again) or "absent", which it makes
final by closing the order id (a lost, REJECTED order under that id, so a late save of
the order fails on its unique key). Only after "absent" does the sweeper release.

So a reservation is released at most grace + interval (+ one sweep) after it was made,
40 s by default, as long as orders answers; while orders is unreachable nothing is
released (the question is asked again at the next sweep), because releasing without its
word could free the money of an order that is live."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable, Protocol, Sequence

from mybroker.db import Database, utc_now
from mybroker.events import iso
from mybroker.internal_http import InternalClient
from mybroker.metrics import Metrics
from mybroker.periodic import Periodic
from mybroker.money import format_money
from subgraphs.wallet import repository
from subgraphs.wallet.domain import Side
from subgraphs.wallet.service import WalletService

log = logging.getLogger("mybroker.wallet.sweeper")

EXISTS, ABSENT = "exists", "absent"
BATCH = 200  # reservations per question to orders


@dataclass(frozen=True)
class Unconfirmed:
    """An open reservation orders has not confirmed yet, as orders is asked about it."""

    order_id: str
    user_id: str
    side: str
    ticker: str
    quantity: int
    price_per_share: Decimal
    created_at: datetime
    blocked: str = ""  # what it holds, for the log: "R$ 3000.00" or "100 PETR4 shares"

    def as_json(self) -> dict:
        return {
            "orderId": self.order_id,
            "userId": self.user_id,
            "side": self.side,
            "ticker": self.ticker,
            "quantity": self.quantity,
            "pricePerShare": format_money(self.price_per_share),
            "createdAt": iso(self.created_at),
        }


class OrderDirectory(Protocol):
    async def check(self, held: Sequence[Unconfirmed]) -> dict[str, str]:
        """{order id: "exists" | "absent"}; an id left out was not answered."""


class OrdersClient:
    """The orders service's reservation checks over its internal API."""

    def __init__(self, http: InternalClient):
        self.http = http

    async def check(self, held: Sequence[Unconfirmed]) -> dict[str, str]:
        body = await self.http.call("POST", "/internal/reservation-checks", {"reservations": [r.as_json() for r in held]})
        refused = body.get("refused") or {}
        for order_id, why in refused.items():
            log.error("orders refused to check reservation %s (%s); it stays blocked", order_id, why)
        return dict(body.get("orders") or {})

    async def close(self) -> None:
        await self.http.close()


@dataclass(frozen=True)
class SweepResult:
    asked: int = 0
    confirmed: int = 0
    released: int = 0


class SweeperMetrics:
    def __init__(self, metrics: Metrics | None = None):
        metrics = metrics if metrics is not None else Metrics()
        self.released = metrics.counter(
            "mybroker_wallet_orphan_reservations_released",
            "Reservations released because orders confirmed no order stands behind them.",
        )
        self.asked = metrics.counter("mybroker_wallet_reservation_checks", "Reservations the sweeper asked orders about.")
        self.failed_sweeps = metrics.counter(
            "mybroker_wallet_sweeps_failed", "Sweeps that could not finish (orders unreachable, a database error)."
        )


class ReservationSweeper:
    def __init__(
        self,
        db: Database,
        wallet: WalletService,
        orders: OrderDirectory,
        *,
        grace: float = 30.0,
        interval: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
        metrics: SweeperMetrics | None = None,
        batch: int = BATCH,
    ):
        self.db = db
        self.wallet = wallet
        self.orders = orders
        self.grace = grace
        self.clock = clock
        self.metrics = metrics if metrics is not None else SweeperMetrics()
        self.batch = batch
        # First after one interval: at start, orders may not be serving yet, and no
        # reservation made since is past its grace anyway.
        self._loop = Periodic("wallet-reservation-sweeper", interval, self._sweep_and_log, on_error=self._failed)

    async def sweep(self) -> SweepResult:
        """One pass over every open reservation past its grace that orders has not confirmed."""
        now = self.clock()
        cutoff = now - timedelta(seconds=self.grace)
        asked = confirmed = released = 0
        after: tuple[datetime, str] | None = None
        while True:
            page = await self._unconfirmed(cutoff, after)
            if not page:
                break
            after = (page[-1].created_at, page[-1].order_id)
            answers = await self.orders.check(page)
            asked += len(page)
            self.metrics.asked.inc(len(page))
            seen = [r.order_id for r in page if answers.get(r.order_id) == EXISTS]
            if seen:
                await self._mark_seen(seen, now)
                confirmed += len(seen)
            for reservation in page:
                if answers.get(reservation.order_id) == ABSENT:
                    released += await self._release(reservation)
            if len(page) < self.batch:
                break
        return SweepResult(asked, confirmed, released)

    async def _unconfirmed(self, cutoff: datetime, after: tuple[datetime, str] | None) -> list[Unconfirmed]:
        async with self.db.read() as session:
            held = await repository.unconfirmed_reservations(session, cutoff, after, self.batch)
        return [
            Unconfirmed(
                r.order_id, r.user_id, r.side.value, r.ticker, r.quantity, r.price_per_share, created_at,
                f"R$ {format_money(r.blocked_amount)}" if r.side is Side.BUY else f"{r.open_quantity} {r.ticker} shares",
            )
            for r, created_at in held
        ]

    async def _mark_seen(self, order_ids: list[str], now: datetime) -> None:
        async with self.db.transaction() as tx:
            await repository.mark_orders_seen(tx.session, order_ids, now)

    async def _release(self, held: Unconfirmed) -> int:
        """Orders has closed this order id for good: nothing can use the reservation."""
        reservation = await self.wallet.cancel_reservation(held.order_id)
        if reservation is None:
            return 0
        log.warning(
            "released reservation %s of user %s (%s): no order behind it %s after it was made",
            held.order_id, held.user_id, held.blocked, _age(self.clock() - held.created_at),
        )
        self.metrics.released.inc()
        return 1

    # ---------------------------------------------------------------- the loop

    @property
    def interval(self) -> float:
        """Seconds between passes: the loop's, so that setting it applies to the next one."""
        return self._loop.interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._loop.interval = seconds

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _sweep_and_log(self) -> None:
        result = await self.sweep()
        if result.released:
            log.info("reservation sweep: %s", result)

    def _failed(self, exc: Exception) -> None:
        self.metrics.failed_sweeps.inc()
        log.warning("reservation sweep failed (%r); the next one runs in %s s", exc, self.interval)


def _age(delta: timedelta) -> str:
    return f"{delta.total_seconds():.0f} s"
