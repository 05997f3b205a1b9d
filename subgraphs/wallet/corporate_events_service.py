"""The wallet's corporate-event use cases: loading events (`mybroker events load FILE`),
listing a ticker's events (`Asset.corporateEvents`) and applying the due ones to their
holders (the job in corporate_events_job.py, on the shared clock and calendar).

Each holder's application is one transaction: the wallet row locked, the application
recorded (corporate_event_applications, one row per event and wallet, so a second pass, a
second replica or a retry after a crash finds it and changes nothing), the cash and the
position changed, the ledger lines written and their messages queued in the outbox with the
CorporateEventApplied the portfolio follows. A crash before the commit leaves nothing; after
it, everything."""
from __future__ import annotations

import logging
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Sequence

from mybroker.calendar import BRASILIA, B3Calendar, b3_calendar
from mybroker.db import Database, utc_now
from mybroker.errors import bad_input
from mybroker.events import WALLET_EVENTS
from mybroker.money import cents
from mybroker.withholding import WITHHOLDING_RULES, WithholdingRule, rule_for, withhold
from subgraphs.wallet import repository
from subgraphs.wallet.corporate_events import (
    CorporateEvent,
    EventKind,
    ShareMovement,
    entitled_shares,
    is_due,
    same_terms,
)
from subgraphs.wallet.domain import ZERO, TransactionType
from subgraphs.wallet.service import _save_wallet
from subgraphs.wallet.wire import applied_message

log = logging.getLogger("mybroker.wallet.corporate_events")

MAX_EVENTS_PER_LOAD = 10_000


@dataclass(frozen=True)
class LoadResult:
    added: tuple[str, ...]
    unchanged: tuple[str, ...]

    def describe(self) -> str:
        return f"{len(self.added)} added, {len(self.unchanged)} already loaded"


@dataclass(frozen=True)
class ApplyResult:
    applied: int = 0  # holders credited or split
    not_entitled: int = 0  # wallets that held the ticker, but not at the record date's close
    deferred: int = 0  # splits waiting for open SELL orders to end
    finished: tuple[str, ...] = ()  # events now applied to every holder


class CorporateEventsService:
    def __init__(
        self,
        db: Database,
        *,
        calendar: B3Calendar | None = None,
        clock: Callable[[], datetime] = utc_now,
        rules: Sequence[WithholdingRule] = WITHHOLDING_RULES,
    ):
        self.db = db
        self.calendar = calendar or b3_calendar()
        self.clock = clock
        self.rules = rules

    # ------------------------------------------------------------ the catalogue

    async def load(self, events: Sequence[CorporateEvent]) -> LoadResult:
        """Stores the events not known yet, in one transaction. An event already loaded
        with the same terms is left as it is (loading a file twice changes nothing); one
        whose terms differ is refused with BAD_USER_INPUT and nothing is stored, since
        holders may have been paid on the old terms."""
        if len(events) > MAX_EVENTS_PER_LOAD:
            raise bad_input(f"Load at most {MAX_EVENTS_PER_LOAD} events at a time.")
        added, unchanged = [], []
        async with self.db.transaction() as tx:
            now = self.clock()
            for event in events:
                try:
                    session = self.calendar.session(event.record_date)
                except ValueError as error:  # outside the calendar's years
                    raise bad_input(f"Corporate event {event.id}: {error}.") from None
                if session is None:
                    raise bad_input(f"Corporate event {event.id}: its record date {event.record_date} is not a B3 session.")
                known = await repository.corporate_event(tx.session, event.id)
                if known is None:
                    await repository.add_corporate_event(tx.session, event, now)
                    added.append(event.id)
                elif same_terms(known, event):
                    unchanged.append(event.id)
                else:
                    raise bad_input(
                        f"Corporate event {event.id} is loaded already with other terms; give a changed event a new id."
                    )
        return LoadResult(tuple(added), tuple(unchanged))

    async def events_of(self, ticker: str) -> list[CorporateEvent]:
        async with self.db.read() as session:
            return await repository.corporate_events_of(session, ticker.strip().upper())

    # ------------------------------------------------------------ applying them

    async def apply_due(self) -> ApplyResult:
        """One pass: every event that is due now and not yet applied to all its holders is
        applied to each of them that it was not applied to yet."""
        now = self.clock()
        trading_day, today = self.calendar.trading_day(now), now.astimezone(BRASILIA).date()
        async with self.db.read() as session:
            pending = [e for e in await repository.unfinished_corporate_events(session) if is_due(e, trading_day, today)]
        applied = not_entitled = deferred = 0
        finished: list[str] = []
        for event in pending:
            async with self.db.read() as session:
                holders = await repository.holders_ever(session, event.ticker)
                wallets_done = await repository.applied_to(session, event.id)
            waiting = 0
            for user_id in holders:
                outcome = await self._apply_to(event, user_id, wallets_done)
                applied += outcome == "applied"
                not_entitled += outcome == "not entitled"
                waiting += outcome == "deferred"
            deferred += waiting
            if not waiting:
                async with self.db.transaction() as tx:
                    await repository.mark_corporate_event_done(tx.session, event.id, self.clock())
                finished.append(event.id)
        return ApplyResult(applied, not_entitled, deferred, tuple(finished))

    async def _apply_to(self, event: CorporateEvent, user_id: str, wallets_done: set[str]) -> str:
        async with self.db.transaction() as tx:
            now = self.clock()
            wallet = await repository.wallet_for_update(tx.session, user_id, now)
            if wallet.id in wallets_done:
                return "done"
            lines = await repository.share_lines(tx.session, wallet.id, event.ticker)
            entitled = entitled_shares(self._movements(lines), event.record_date)
            if entitled == 0:
                return "not entitled" if await repository.first_application(tx.session, event.id, wallet.id, 0, now) else "done"
            position = await repository.position_for_update(tx.session, wallet.id, event.ticker)
            if not event.kind.pays_cash and position.blocked_quantity:
                log.warning(
                    "corporate event %s waits for %s: %s %s shares are blocked by open SELL orders",
                    event.id, user_id, position.blocked_quantity, event.ticker,
                )
                return "deferred"
            if not await repository.first_application(tx.session, event.id, wallet.id, entitled, now):
                return "done"
            gross = withheld = fraction_cash = ZERO
            if event.kind.pays_cash:
                assert event.amount_per_share is not None and event.payment_date is not None
                gross = cents(event.amount_per_share * entitled)
                if gross == 0:  # a few shares of a tiny amount: under a centavo, nothing to credit
                    return "applied"
                withheld = await self._withholding(tx.session, wallet.id, event, gross)
                wallet.receive_income(TransactionType(event.kind.value), event.ticker, entitled, gross, withheld, event.id)
                applied_on = event.payment_date
            else:
                assert event.ratio_new is not None and event.ratio_old is not None
                wallet.split_position(position, entitled, event.ratio_new, event.ratio_old, event.fraction_price, event.id)
                fraction_cash = sum((e.amount for e in wallet.new_entries if e.type is TransactionType.FRACTION_CASH), ZERO)
                await repository.save_position(tx.session, wallet.id, position, now)
                applied_on = self.calendar.business_day_on_or_after(event.ex_date)
            await _save_wallet(tx, wallet, now)
            await tx.emit(
                WALLET_EVENTS,
                applied_message(user_id, event, applied_on, entitled, gross, withheld, fraction_cash, now),
                key=user_id,
            )
        return "applied"

    def _movements(self, lines) -> list[ShareMovement]:
        """Trades count from their trading day; a split from the day after its record date."""
        moved = []
        for kind, quantity, posted_at, split_record_date in lines:
            if kind is TransactionType.BUY:
                moved.append(ShareMovement(quantity, self.calendar.trading_day(posted_at)))
            elif kind is TransactionType.SELL:
                moved.append(ShareMovement(-quantity, self.calendar.trading_day(posted_at)))
            elif split_record_date is not None:
                moved.append(ShareMovement(quantity, date.fromordinal(split_record_date.toordinal() + 1)))
        return moved

    async def _withholding(self, session, wallet_id: str, event: CorporateEvent, gross: Decimal) -> Decimal:
        assert event.payment_date is not None
        kind = event.kind.income
        before_gross = before_withheld = ZERO
        rule = rule_for(kind, event.payment_date, self.rules)
        if event.kind is EventKind.DIVIDEND and rule.monthly_threshold is not None:
            paid_on = event.payment_date
            first, last = paid_on.replace(day=1), paid_on.replace(day=monthrange(paid_on.year, paid_on.month)[1])
            for line_kind, amount, approved_on in await repository.month_dividends(session, wallet_id, event.issuer, first, last):
                exempt = rule.exempt_if_approved_by is not None and approved_on is not None and approved_on <= rule.exempt_if_approved_by
                if exempt:
                    continue  # the transition's dividends neither count nor withhold
                if line_kind is TransactionType.DIVIDEND:
                    before_gross += amount
                else:
                    before_withheld -= amount  # IRRF lines are negative
        return withhold(
            kind, gross, event.payment_date, approved_on=event.approved_on, month_gross_before=before_gross,
            month_withheld_before=before_withheld, rules=self.rules,
        ).withheld
