"""assets: initial schema (tables, indexes and unique constraints of subgraphs.assets.tables)

Revision ID: 0001
Revises:
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

import mybroker.db

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Ignored elsewhere. Binary collation: strings compare exactly, as on SQLite.
MYSQL_TABLE = dict(mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_bin")


def upgrade() -> None:
    op.create_table(
        'assets',
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('type', sa.String(length=8), nullable=False),
        sa.Column('lot_size', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('search_key', sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint('ticker'),
        **MYSQL_TABLE,
    )
    op.create_table(
        'candles',
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('interval', sa.String(length=16), nullable=False),
        sa.Column('start', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('open', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('high', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('low', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('close', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('volume_base', sa.BigInteger(), nullable=False),
        sa.Column('day_volume', sa.BigInteger(), nullable=False),
        sa.Column('first_tick', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('last_tick', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('ticker', 'interval', 'start'),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table('candles')
    op.drop_table('assets')
