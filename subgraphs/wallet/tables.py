"""The wallet's store. Money columns are FixedDecimal (exact integer centavos), never floats."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table

from mybroker.db import FixedDecimal, UtcDateTime, messaging_tables
from subgraphs.wallet.domain import AVERAGE_PRICE_PLACES

metadata = MetaData()

wallets = Table(
    "wallets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("available", FixedDecimal(2), nullable=False),
    Column("blocked", FixedDecimal(2), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("wallet_id", String(36), primary_key=True),
    Column("ticker", String(20), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("blocked_quantity", Integer, nullable=False),
    Column("average_price", FixedDecimal(AVERAGE_PRICE_PLACES), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

reservations = Table(
    "reservations",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("wallet_id", String(36), nullable=False),
    Column("side", String(4), nullable=False),
    Column("ticker", String(20), nullable=False),
    Column("price_per_share", FixedDecimal(2), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("open_quantity", Integer, nullable=False),
    Column("amount", FixedDecimal(2), nullable=False),
    Column("blocked_amount", FixedDecimal(2), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # When orders confirmed an order behind this reservation (wallet.sweeper): null until
    # then, and the sweeper asks about open ones still null after their grace.
    Column("order_seen_at", UtcDateTime()),
    # The value the order's fills traded so far: its fees are counted on it (mybroker.fees).
    Column("traded_amount", FixedDecimal(2), nullable=False, server_default="0"),
    Index("ix_reservations_wallet_status", "wallet_id", "status"),
    Index("ix_reservations_unseen", "status", "order_seen_at", "created_at"),
)

# The ledger. `seq` orders entries (newest first) even when timestamps tie.
wallet_transactions = Table(
    "wallet_transactions",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("wallet_id", String(36), nullable=False),
    Column("type", String(20), nullable=False),
    Column("amount", FixedDecimal(2), nullable=False),
    Column("order_id", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    # A trade's cash settles at B3 on this day (D+2); null for what is settled at once
    # (deposits, withdrawals, reservations and their releases).
    Column("settles_on", Date()),
    # The order's ticker on its entries; the fill's quantity and price on BUY and SELL.
    Column("ticker", String(20)),
    Column("quantity", Integer),
    Column("price", FixedDecimal(2)),
    # FEE entries: which cost it is (mybroker.fees.FeeKind); null on every other entry.
    Column("fee_kind", String(12)),
    # Corporate-event lines (DIVIDEND, JCP, IRRF, SPLIT, ...): the event they come from.
    Column("event_id", String(64)),
    Index("ix_wallet_transactions_wallet_seq", "wallet_id", "seq"),
    Index("ix_wallet_transactions_wallet_settles_on", "wallet_id", "settles_on"),
    # The day's end finds the wallets that traded on a day by their trades' settlement day.
    Index("ix_wallet_transactions_settles_on_type", "settles_on", "type"),
)

# Executions already settled: a fill is applied once even if it comes in two envelopes.
settled_fills = Table(
    "settled_fills",
    metadata,
    Column("execution_id", String(64), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("settled_at", UtcDateTime(), nullable=False),
)

# Corporate events the wallet knows (`mybroker events load FILE`): dividends, JCP, splits
# and reverse splits of a ticker (subgraphs/wallet/corporate_events.py).
corporate_events = Table(
    "corporate_events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("ticker", String(20), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("record_date", Date(), nullable=False),
    Column("payment_date", Date()),
    # As declared, per share: companies declare amounts such as R$ 0.45370000.
    Column("amount_per_share", FixedDecimal(8)),
    Column("ratio_new", Integer),
    Column("ratio_old", Integer),
    Column("fraction_price", FixedDecimal(2)),
    Column("approved_on", Date()),
    Column("description", String(300), nullable=False),
    Column("illustrative", Boolean(), nullable=False),
    Column("loaded_at", UtcDateTime(), nullable=False),
    Index("ix_corporate_events_ticker", "ticker", "record_date"),
)

# One row per event and wallet it was applied to (entitled 0 included): what makes an
# event apply once per holder, written in the transaction that applies it.
corporate_event_applications = Table(
    "corporate_event_applications",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("wallet_id", String(36), primary_key=True),
    Column("entitled", Integer, nullable=False),
    Column("applied_at", UtcDateTime(), nullable=False),
)

# Events applied to every holder: the job skips them (a late holder cannot appear: the
# record date is past).
corporate_events_done = Table(
    "corporate_events_done",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("done_at", UtcDateTime(), nullable=False),
)

# Trading days closed per wallet (subgraphs/wallet/day_end.py): one row per wallet and day,
# written in the transaction that posts the day's end, so it is posted once whatever runs it.
trading_days_closed = Table(
    "trading_days_closed",
    metadata,
    Column("wallet_id", String(36), primary_key=True),
    Column("trading_day", Date(), primary_key=True),
    Column("settles_on", Date(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=False),
)

# Trading days closed for every wallet that traded then: later passes skip them (no trade
# can be dated to a day once it is over), so a pass reads only the days still open to close.
trading_days_done = Table(
    "trading_days_done",
    metadata,
    Column("trading_day", Date(), primary_key=True),
    Column("done_at", UtcDateTime(), nullable=False),
)

outbox, inbox = messaging_tables(metadata)
