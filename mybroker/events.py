"""Event contracts: channel names and the versioned envelope every message travels in.

Producers and consumers both import these names, so a topic or queue can never be
spelled two ways (the seed design's bug)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

# Kafka topics (keyed as noted) and RabbitMQ queues.
MARKET_DATA = "assets-market-data-v1"  # key: ticker
ORDER_EVENTS = "order-events-v1"  # key: order id
WALLET_EVENTS = "wallet-events-v1"  # key: user id
EXCHANGE_ORDERS = "b3.orders"  # new orders and cancels, into b3-sim
EXECUTIONS = "broker.executions"  # execution reports, out of b3-sim
EXCHANGE_TRADES = "b3-trades-v1"  # key: ticker; every trade on b3-sim, through its outbox
EXCHANGE_BOOKS = "b3-book-v1"  # key: ticker; top-of-book snapshots, best-effort (coalesced)
IDENTITY_MAIL = "identity-mail-v1"  # key: recipient; e-mails identity sends (password resets), through its outbox

# Message types (Envelope.type), all version 1.
QUOTE = "Quote"  # MARKET_DATA
ORDER_UPDATED = "OrderUpdated"  # ORDER_EVENTS: the order snapshot after a change
WALLET_TRANSACTION = "WalletTransaction"  # WALLET_EVENTS
CORPORATE_EVENT_APPLIED = "CorporateEventApplied"  # WALLET_EVENTS: a dividend, JCP or split applied to one holder
NEW_ORDER = "NewOrder"  # EXCHANGE_ORDERS
CANCEL_ORDER = "CancelOrder"  # EXCHANGE_ORDERS
REPLACE_ORDER = "ReplaceOrder"  # EXCHANGE_ORDERS
ORDER_STATUS_REQUEST = "OrderStatusRequest"  # EXCHANGE_ORDERS: FIX 35=H, answered by an ORDER_STATUS report
EXECUTION_REPORT = "ExecutionReport"  # EXECUTIONS
TRADE = "Trade"  # EXCHANGE_TRADES
BOOK_SNAPSHOT = "BookSnapshot"  # EXCHANGE_BOOKS
MAIL = "Mail"  # IDENTITY_MAIL: {"to", "subject", "body", "kind", "token"?}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO-8601 with milliseconds and Z, as the contract's DateTime."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Envelope:
    type: str
    data: dict[str, Any]
    version: int = 1
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=lambda: iso(utcnow()))

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {"id": self.id, "type": self.type, "version": self.version, "occurredAt": self.occurred_at, "data": self.data}
        )

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> "Envelope":
        doc = orjson.loads(raw)
        return cls(id=doc["id"], type=doc["type"], version=doc["version"], occurred_at=doc["occurredAt"], data=doc["data"])
