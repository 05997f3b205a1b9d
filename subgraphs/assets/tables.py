"""The assets database: the catalog, the candles, and what the market must keep across a
restart (the latest quote and the recent tape per ticker; docs/design.md, "Continuity").
Prices exact in centavos, times UTC."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table

from mybroker.db import FixedDecimal, UtcDateTime

metadata = MetaData()

assets = Table(
    "assets",
    metadata,
    Column("ticker", String(16), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("type", String(8), nullable=False),
    Column("lot_size", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    # Case- and accent-folded "ticker name", so search is one LIKE in the database.
    Column("search_key", String(300), nullable=False),
)

candles = Table(
    "candles",
    metadata,
    Column("ticker", String(16), primary_key=True),
    Column("interval", String(16), primary_key=True),
    Column("start", UtcDateTime, primary_key=True),
    Column("open", FixedDecimal(2), nullable=False),
    Column("high", FixedDecimal(2), nullable=False),
    Column("low", FixedDecimal(2), nullable=False),
    Column("close", FixedDecimal(2), nullable=False),
    # The day's cumulative volume before the bucket's first tick, and at its latest tick.
    Column("volume_base", BigInteger, nullable=False),
    Column("day_volume", BigInteger, nullable=False),
    Column("first_tick", UtcDateTime, nullable=False),
    Column("last_tick", UtcDateTime, nullable=False),
)


# One row per ticker: the latest quote as the market-data consumer folded it (the cache
# serves reads; this row survives a restart of the embedded memory cache, and is where
# the simulated source continues from).
last_quotes = Table(
    "last_quotes",
    metadata,
    Column("ticker", String(16), primary_key=True),
    Column("price", FixedDecimal(2), nullable=False),
    Column("change", FixedDecimal(2), nullable=False),
    Column("change_percent", String(16), nullable=False),  # the contract's Float, as sent
    Column("volume", BigInteger, nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("source", String(32), nullable=True),
)

# The recent tape (b3-trades-v1), bounded: the newest TRADES_KEPT per ticker
# (subgraphs.assets.market), pruned as trades arrive.
tape = Table(
    "tape",
    metadata,
    Column("ticker", String(16), primary_key=True),
    Column("trade_id", String(64), primary_key=True),
    Column("price", FixedDecimal(2), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Index("ix_tape_ticker_time", "ticker", "time"),
)
