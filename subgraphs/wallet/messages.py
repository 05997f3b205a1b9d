"""The wallet's messages on the wire (docs/internals.md, "Channels and messages"): one
WalletTransaction per ledger entry, on `wallet.events`."""
from __future__ import annotations

from mybroker.events import WALLET_TRANSACTION, Envelope, iso
from mybroker.money import format_money
from subgraphs.wallet.domain import PostedEntry


def wallet_transaction(user_id: str, entry: PostedEntry) -> Envelope:
    return Envelope(
        WALLET_TRANSACTION,
        {
            "transactionId": entry.id,
            "userId": user_id,
            "type": entry.type.value,
            "amount": format_money(entry.amount),
            "orderId": entry.order_id,
            "createdAt": iso(entry.created_at),
        },
    )
