"""The assets database: the catalog and the candles (prices exact in centavos, times UTC)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table

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

