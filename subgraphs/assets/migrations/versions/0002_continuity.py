"""assets: the latest quote and the recent tape per ticker, kept across a restart

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

import mybroker.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_TABLE = dict(mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_bin")


def upgrade() -> None:
    op.create_table(
        'last_quotes',
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('price', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('change', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('change_percent', sa.String(length=16), nullable=False),
        sa.Column('volume', sa.BigInteger(), nullable=False),
        sa.Column('time', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint('ticker'),
        **MYSQL_TABLE,
    )
    op.create_table(
        'tape',
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('trade_id', sa.String(length=64), nullable=False),
        sa.Column('price', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.Column('time', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('ticker', 'trade_id'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_tape_ticker_time', 'tape', ['ticker', 'time'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tape_ticker_time', table_name='tape')
    op.drop_table('tape')
    op.drop_table('last_quotes')
