"""The orders database: orders, their executions, and the outbox/inbox."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint

from mybroker.db import FixedDecimal, UtcDateTime, messaging_tables

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    # Arrival order: "newest first" must not depend on clock resolution.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("user_id", String(64), nullable=False),
    Column("client_order_id", String(64)),
    Column("ticker", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("type", String(16), nullable=False),  # STOP_LIMIT: ten characters
    Column("time_in_force", String(8), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("limit_price", FixedDecimal(2)),
    Column("protection_price", FixedDecimal(2)),
    Column("status", String(20), nullable=False),
    Column("filled_quantity", BigInteger, nullable=False, default=0),
    Column("filled_value", FixedDecimal(2), nullable=False),
    Column("reason", String(500)),
    Column("cancel_requested_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # A cancel or replace asked of B3 and not answered yet (domain.PendingRequest).
    Column("pending", String(10)),
    # STOP and STOP_LIMIT: the trigger, and when B3 triggered it (null: waiting).
    Column("stop_price", FixedDecimal(2)),
    Column("triggered_at", UtcDateTime),
    # An OCO leg: the other leg's id (the pair's one reservation is the take-profit's).
    Column("oco_sibling_id", String(36)),
    # The idempotency key: one order per (user, clientOrderId); NULLs never collide.
    UniqueConstraint("user_id", "client_order_id", name="uq_orders_client_order_id"),
    Index("ix_orders_user_seq", "user_id", "seq"),
)

executions = Table(
    "executions",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    # B3's execution id: a fill is applied once however often its report arrives.
    Column("id", String(100), nullable=False, unique=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False, index=True),
    Column("quantity", BigInteger, nullable=False),
    Column("price", FixedDecimal(2), nullable=False),
    Column("executed_at", UtcDateTime, nullable=False),
)

outbox, inbox = messaging_tables(metadata)
