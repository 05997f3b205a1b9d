"""Reconciliation with the exchange, as brokers run it every day: for each order the broker
thinks is live, ask B3 whether it still holds it (OrderStatusRequest, FIX 35=H).

A pass writes one OrderStatusRequest per live order to `b3.orders` through the outbox,
keyed by ticker like every exchange command, so it reaches B3 behind the order's own
NewOrder, cancels and replaces. B3 answers each with an ExecutionReport of execType
ORDER_STATUS (RESTING, DONE or UNKNOWN); OrderService.apply_execution applies it (an
order B3 does not hold is ended and its money released) and tells `status_listener`,
which is this module's `Reconciler.heard`. The pass waits, bounded, for the answers to
its own requests and sums them up; answers that come later still correct the order.

Live: OPEN and PARTIALLY_FILLED (PENDING_CANCEL and PENDING_REPLACE are those with a
request under way), and PENDING once it is older than a grace: a NewOrder just sent is
not late yet."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from mybroker.db import utc_now
from mybroker.periodic import Periodic
from mybroker.events import EXCHANGE_ORDERS
from subgraphs.orders import repository
from subgraphs.orders.metrics import OrdersMetrics
from subgraphs.orders.wire import order_status_request

if TYPE_CHECKING:
    from subgraphs.orders.service import OrderService

log = logging.getLogger("mybroker.orders.reconcile")

# B3's words in an ORDER_STATUS report.
RESTING, DONE, UNKNOWN = "RESTING", "DONE", "UNKNOWN"
BATCH = 500  # orders per transaction of status requests


@dataclass
class ReconcileSummary:
    checked: int = 0  # status requests sent
    resting: int = 0  # B3 holds the order in a book
    done: int = 0  # B3 knew it; it is no longer resting (its reports tell the rest)
    unknown: int = 0  # B3 does not hold it
    corrected: int = 0  # of those, ended by the broker now (money released)
    unanswered: int = 0  # no answer within the wait

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Pass:
    expected: set[str] = field(default_factory=set)
    answers: dict[str, tuple[str, bool]] = field(default_factory=dict)
    all_answered: asyncio.Event = field(default_factory=asyncio.Event)
    requesting: bool = True

    def heard(self, order_id: str, order_status: str, corrected: bool) -> None:
        if order_id in self.expected and order_id not in self.answers:
            self.answers[order_id] = (order_status, corrected)
            self._check_done()

    def _check_done(self) -> None:
        if not self.requesting and len(self.answers) >= len(self.expected):
            self.all_answered.set()

    def sent_all(self) -> None:
        self.requesting = False
        self._check_done()

    def summary(self) -> ReconcileSummary:
        statuses = [status for status, _ in self.answers.values()]
        return ReconcileSummary(
            checked=len(self.expected),
            resting=statuses.count(RESTING),
            done=statuses.count(DONE),
            unknown=statuses.count(UNKNOWN),
            corrected=sum(1 for _, corrected in self.answers.values() if corrected),
            unanswered=len(self.expected) - len(self.answers),
        )


class Reconciler:
    def __init__(
        self,
        service: "OrderService",
        *,
        interval: float = 300.0,
        pending_grace: float = 30.0,
        reply_timeout: float = 30.0,
        metrics: OrdersMetrics | None = None,
        clock: Callable[[], datetime] = utc_now,
        batch: int = BATCH,
    ):
        self.db = service.db
        self.pending_grace = pending_grace
        self.reply_timeout = reply_timeout
        self.metrics = metrics if metrics is not None else service.metrics
        self.clock = clock
        self.batch = batch
        self._lock = asyncio.Lock()  # one pass at a time: answers are matched by order id
        self._current: _Pass | None = None
        # Not at start: the exchange may still be rebuilding its books.
        self._loop = Periodic(
            "orders-reconcile",
            interval,
            self.run,
            on_error=lambda _exc: log.exception("reconciliation pass failed; the next one runs in %s s", self.interval),
        )
        # apply_execution calls this for every ORDER_STATUS report it applied.
        service.status_listener = self.heard

    def heard(self, order_id: str, order_status: str, corrected: bool) -> None:
        """B3's answer about one order, applied already (the order ended if `corrected`)."""
        if corrected:
            log.warning("reconciliation: the exchange does not hold order %s; the broker ended it and released its money", order_id)
            self.metrics.reconcile_corrections.inc()
        if self._current is not None:
            self._current.heard(order_id, order_status, corrected)

    async def run(self, *, wait: float | None = None) -> ReconcileSummary:
        """One pass: requests the status of every live order, then waits up to `wait`
        seconds (default `reply_timeout`) for the answers."""
        wait = self.reply_timeout if wait is None else wait
        async with self._lock:
            this = self._current = _Pass()
            try:
                await self._request_statuses(this)
                this.sent_all()
                if wait > 0 and not this.all_answered.is_set():
                    try:
                        await asyncio.wait_for(this.all_answered.wait(), wait)
                    except TimeoutError:
                        pass
            finally:
                self._current = None
        summary = this.summary()
        self.metrics.reconcile_passes.inc()
        self.metrics.reconcile_unanswered.inc(summary.unanswered)
        log.info("reconciliation: %s", summary.as_dict())
        return summary

    async def _request_statuses(self, this: _Pass) -> None:
        late = self.clock() - timedelta(seconds=self.pending_grace)
        after = 0
        while True:
            async with self.db.transaction() as tx:
                rows = await repository.live_orders(tx.session, after=after, pending_before=late, limit=self.batch)
                for row in rows:
                    this.expected.add(row.id)  # before the commit: an answer may come at once
                    await tx.emit(EXCHANGE_ORDERS, order_status_request(row.id, row.ticker), key=row.ticker)
            self.metrics.status_requests.inc(len(rows))
            if len(rows) < self.batch:
                return
            after = rows[-1].seq

    # ---------------------------------------------------------------- the periodic pass

    @property
    def interval(self) -> float:
        """Seconds between passes: the loop's, so that setting it applies to the next one."""
        return self._loop.interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._loop.interval = seconds

    async def start(self) -> None:
        if self.interval > 0:
            self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
