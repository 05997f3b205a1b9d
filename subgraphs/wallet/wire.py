"""The wallet's message on the wire: a ledger entry as the kernel's WalletTransaction
(mybroker.wire), which holds the encoding."""
from __future__ import annotations

from datetime import datetime

from mybroker import wire
from mybroker.events import Envelope
from subgraphs.wallet.domain import LedgerEntry


def transaction_message(transaction_id: str, user_id: str, entry: LedgerEntry, at: datetime) -> Envelope:
    return wire.WalletTransaction(transaction_id, user_id, entry.type.value, entry.amount, entry.order_id, at).envelope()
