"""wallet: the trading day's end (FEE_ADJUSTMENT and trade IRRF lines), posted once per
wallet and trading day (trading_days_closed), days closed for everyone skipped
(trading_days_done); the ledger indexed by settlement day and type so the job finds a day's
traders without scanning it

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

import mybroker.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'trading_days_closed',
        sa.Column('wallet_id', sa.String(length=36), nullable=False),
        sa.Column('trading_day', sa.Date(), nullable=False),
        sa.Column('settles_on', sa.Date(), nullable=False),
        sa.Column('closed_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('wallet_id', 'trading_day'),
    )
    op.create_table(
        'trading_days_done',
        sa.Column('trading_day', sa.Date(), nullable=False),
        sa.Column('done_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('trading_day'),
    )
    op.create_index('ix_wallet_transactions_settles_on_type', 'wallet_transactions', ['settles_on', 'type'])


def downgrade() -> None:
    op.drop_index('ix_wallet_transactions_settles_on_type', table_name='wallet_transactions')
    op.drop_table('trading_days_done')
    op.drop_table('trading_days_closed')
