"""wallet: the day a trade's cash settles at B3 (wallet_transactions.settles_on, D+2), and
what a statement line says of its trade (ticker, quantity, price)

Null for entries settled at once and for trades recorded before settlement was modelled
(they count as settled). The index serves the wallet's read of what is still to settle.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

import mybroker.db

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('wallet_transactions', sa.Column('settles_on', sa.Date(), nullable=True))
    op.add_column('wallet_transactions', sa.Column('ticker', sa.String(length=20), nullable=True))
    op.add_column('wallet_transactions', sa.Column('quantity', sa.Integer(), nullable=True))
    op.add_column('wallet_transactions', sa.Column('price', mybroker.db.FixedDecimal(2), nullable=True))
    op.create_index(
        'ix_wallet_transactions_wallet_settles_on', 'wallet_transactions', ['wallet_id', 'settles_on'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_wallet_transactions_wallet_settles_on', table_name='wallet_transactions')
    for column in ('price', 'quantity', 'ticker', 'settles_on'):
        op.drop_column('wallet_transactions', column)
