"""The wallet's message on the wire: a posted ledger entry as the kernel's WalletTransaction
(mybroker.wire), which holds the encoding."""
from __future__ import annotations

from mybroker import wire
from mybroker.events import Envelope
from subgraphs.wallet.domain import PostedEntry


def transaction_message(user_id: str, entry: PostedEntry) -> Envelope:
    return wire.WalletTransaction(entry.id, user_id, entry.type.value, entry.amount, entry.order_id, entry.created_at).envelope()
