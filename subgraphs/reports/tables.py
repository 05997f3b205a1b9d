"""The reports projection: holdings per user and ticker, and the fills they came from
(money exact in centavos, times UTC)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Integer, MetaData, String, Table

from mybroker.db import FixedDecimal, UtcDateTime, messaging_tables

metadata = MetaData()

holdings = Table(
    "holdings",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("ticker", String(16), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("cost", FixedDecimal(2), nullable=False),  # average_price x quantity, to the centavo
    Column("realized", FixedDecimal(2), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The average price with costs, six places, as the wallet's (mybroker.cost_basis).
    Column("average_price", FixedDecimal(6), nullable=False, server_default="0"),
)

# One row per execution applied: what makes a fill count once, and the trade history.
fills = Table(
    "fills",
    metadata,
    Column("execution_id", String(64), primary_key=True),
    Column("order_id", String(64), nullable=False, index=True),  # an order's fees count on its fills so far
    Column("user_id", String(64), nullable=False, index=True),
    Column("ticker", String(16), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", FixedDecimal(2), nullable=False),
    Column("executed_at", UtcDateTime, nullable=False),
    # What the order traded on (PETR4F on the fractional market): the note's VISTA/FRACIONARIO.
    Column("traded_ticker", String(16), nullable=True),
)

# Corporate events the wallet applied to a user (CorporateEventApplied on wallet-events-v1):
# one row per event and user, what makes each count once, and the income received.
corporate_events_received = Table(
    "corporate_events_received",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("ticker", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("record_date", Date, nullable=False),
    Column("applied_on", Date, nullable=False),
    Column("entitled", BigInteger, nullable=False),
    Column("gross", FixedDecimal(2), nullable=False),
    Column("withheld", FixedDecimal(2), nullable=False),
    Column("fraction_cash", FixedDecimal(2), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # SPLIT and REVERSE_SPLIT: ratio_new shares for every ratio_old (the tax replays them).
    Column("ratio_new", Integer, nullable=True),
    Column("ratio_old", Integer, nullable=True),
)

outbox, inbox = messaging_tables(metadata)
