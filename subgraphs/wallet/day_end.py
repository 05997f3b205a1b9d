"""The trading day's end in the wallet: once a B3 trading day is over (on the shared clock and
calendar: in the continuous default mode it rolls at a fixed hour), each trader who traded
that day gets the day's end posted to the ledger, computed from the wallet's own lines by
the kernel's pure rule (mybroker.day_end, the brokerage note's too):

- FEE_ADJUSTMENT lines, one per fee item that changed: the day trades' B3 fees at day-trade
  rates less the swing-trade rates the fills were charged (usually a credit);
- an IRRF line: the income tax withheld at source on the day's trades (0.005% of swing-trade
  sales, none when R$ 1.00 or less; 1% of the day's positive day-trade result).

Both settle with the day's trades (D+2: the trades' `settles_on`), so the day's cash change
in the wallet is the note's "líquido para". Why the wallet computes it and not reports:
docs/design.md, "The trading day's end".

Exactly once per wallet and trading day: the wallet row is locked, the day recorded as
closed (trading_days_closed), the lines written and their WalletTransaction messages queued
in the outbox, all in one transaction. A second pass, a second replica or a retry after a
crash finds the record and posts nothing; a crash before the commit leaves nothing.

A pass closes the business days of the last LOOKBACK_DAYS before the current trading day,
so a wallet down for a while catches up; a day counts as over GRACE after its rollover, so
that a fill the wallet began settling just before the rollover (its lines dated that day)
has committed before the day is read. A day whose traders are all closed is marked done
(trading_days_done) and not read again: no trade can be dated to it any more."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterable

from sqlalchemy.exc import IntegrityError

from mybroker.calendar import B3Calendar, b3_calendar
from mybroker.db import Database, utc_now
from mybroker.day_end import DayTrade, close_day
from mybroker.fees import NO_FEES, FeeSchedule
from mybroker.periodic import Periodic
from mybroker.trading import OrderSide
from subgraphs.wallet import repository
from subgraphs.wallet.domain import ZERO, TransactionType
from subgraphs.wallet.service import _save_wallet

log = logging.getLogger("mybroker.wallet.day_end")

LOOKBACK_DAYS = 10  # business days a pass looks back for days not closed yet
GRACE = timedelta(minutes=2)  # far longer than a fill's settlement transaction may take


def ledger_day_trades(lines: Iterable[tuple[TransactionType, str | None, str | None, int | None, Decimal]]) -> list[DayTrade]:
    """A day's BUY, SELL and FEE lines (type, order id, ticker, quantity, amount) as the
    kernel's trades: per asset and side, the quantity, the value and the fees charged."""
    lines = list(lines)
    order_side: dict[str, tuple[str, OrderSide]] = {}
    totals: dict[tuple[str, OrderSide], list] = defaultdict(lambda: [0, ZERO, ZERO])
    for kind, order_id, ticker, quantity, amount in lines:
        if kind in (TransactionType.BUY, TransactionType.SELL):
            if order_id is None or ticker is None or quantity is None:
                raise ValueError(f"a {kind.value} line without its order, ticker or quantity")
            side = OrderSide.BUY if kind is TransactionType.BUY else OrderSide.SELL
            order_side[order_id] = (ticker, side)
            total = totals[(ticker, side)]
            total[0] += quantity
            total[1] += abs(amount)
    for kind, order_id, _, _, amount in lines:
        if kind is TransactionType.FEE:
            if order_id not in order_side:
                # Each fill posts its FEE lines with its trade line: one without is a bug.
                raise ValueError(f"a FEE line of order {order_id} without a trade that day")
            totals[order_side[order_id]][2] -= amount
    return [DayTrade(ticker, side, quantity, value, costs) for (ticker, side), (quantity, value, costs) in totals.items()]


@dataclass(frozen=True)
class CloseResult:
    closed: int = 0  # trader-days closed in this pass
    posted: int = 0  # of those, the ones with a line to post
    failed: int = 0  # left for the next pass (logged)


class TradingDayEnd:
    def __init__(
        self,
        db: Database,
        *,
        fees: FeeSchedule = NO_FEES,
        calendar: B3Calendar | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.db = db
        self.fees = fees  # the schedule the fills were charged with (the wallet's)
        self.calendar = calendar or b3_calendar()
        self.clock = clock

    def days_over(self, now: datetime) -> dict[date, date]:
        """{settlement day: trading day} of the business days over by `now`, newest
        LOOKBACK_DAYS of them."""
        current = self.calendar.trading_day(now - GRACE)
        days: dict[date, date] = {}
        day = current
        while len(days) < LOOKBACK_DAYS:
            day -= timedelta(days=1)
            try:
                if not self.calendar.is_business_day(day):
                    continue
            except ValueError:  # before the calendar's first day: nothing traded there
                break
            days[self.calendar.settlement_date(day)] = day
        return days

    async def close_due(self) -> CloseResult:
        """One pass: every trader-day over and not closed yet is closed; a day left with no
        trader to close is marked done, and later passes skip it."""
        over = self.days_over(self.clock())
        async with self.db.read() as session:
            done = await repository.days_done(session, sorted(over.values()))
            days = {settles_on: day for settles_on, day in over.items() if day not in done}
            pending = await repository.traders_to_close(session, sorted(days))
        closed = posted = failed = 0
        failed_days: set[date] = set()
        for user_id, settles_on in pending:
            try:
                outcome = await self.close(user_id, days[settles_on], settles_on)
            except Exception:  # noqa: BLE001 - one trader's bad ledger must not hold up the others
                log.exception("day's end of %s on %s failed; the next pass tries again", user_id, days[settles_on])
                failed += 1
                failed_days.add(days[settles_on])
                continue
            closed += outcome is not None
            posted += bool(outcome)
        finished = [day for day in days.values() if day not in failed_days]
        if finished:
            try:
                async with self.db.transaction() as tx:
                    for day in finished:
                        await repository.mark_day_done(tx.session, day, self.clock())
            except IntegrityError:
                pass  # another replica marked them at the same moment: done either way
        return CloseResult(closed, posted, failed)

    async def close(self, user_id: str, trading_day: date, settles_on: date) -> int | None:
        """Closes one trader's day: the number of lines posted, None if it was closed already."""
        async with self.db.transaction() as tx:
            now = self.clock()
            wallet = await repository.wallet_for_update(tx.session, user_id, now)
            if not await repository.first_close(tx.session, wallet.id, trading_day, settles_on, now):
                return None
            trades = ledger_day_trades(await repository.day_lines(tx.session, wallet.id, settles_on))
            end = close_day(trades, self.fees)
            wallet.close_trading_day(end, settles_on)
            posted = len(wallet.new_entries)
            await _save_wallet(tx, wallet, now)
        if posted:
            log.info(
                "day's end of %s on %s: fees %s, IRRF %s", user_id, trading_day, end.adjustment.total, end.irrf
            )
        return posted


class TradingDayEndJob:
    """The day's end every `interval` seconds (mybroker.periodic), the first at start: a day
    that ended while the wallet was down is closed as soon as it is back."""

    def __init__(self, day_end: TradingDayEnd, *, interval: float = 60.0):
        self.day_end = day_end
        self._loop = Periodic("wallet-day-end", interval, self.run_once, on_error=self._failed, first_at_once=True)

    async def run_once(self) -> CloseResult:
        result = await self.day_end.close_due()
        if result.closed or result.failed:
            log.info("trading day's end: %s", result)
        return result

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    def _failed(self, exc: Exception) -> None:
        log.warning("trading day's end pass failed (%r); the next one runs in %s s", exc, self._loop.interval)
