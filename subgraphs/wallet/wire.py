"""The wallet's message on the wire: a posted ledger entry as the kernel's WalletTransaction
(mybroker.wire), which holds the encoding."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from mybroker import wire
from mybroker.events import Envelope
from subgraphs.wallet.corporate_events import CorporateEvent
from subgraphs.wallet.domain import PostedEntry


def transaction_message(user_id: str, entry: PostedEntry) -> Envelope:
    return wire.WalletTransaction(entry.id, user_id, entry.type.value, entry.amount, entry.order_id, entry.created_at).envelope()


def applied_message(
    user_id: str, event: CorporateEvent, applied_on: date, entitled: int, gross: Decimal, withheld: Decimal,
    fraction_cash: Decimal, applied_at: datetime,
) -> Envelope:
    """A corporate event applied to one holder, for the portfolio (subgraphs/reports)."""
    return wire.CorporateEventApplied(
        event.id, user_id, event.ticker, event.kind.value, event.record_date, applied_on, entitled, gross, withheld,
        fraction_cash, applied_at, event.ratio_new, event.ratio_old,
    ).envelope()
