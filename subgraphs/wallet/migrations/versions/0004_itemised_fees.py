"""wallet: itemised fees (wallet_transactions.fee_kind: emolumentos, liquidação, brokerage,
ISS) and what each order's fills have traded (reservations.traded_amount), on which its
fees are counted (mybroker.fees)

Null fee_kind on every entry but FEE (and on FEE entries of the flat fee before); a
reservation made before this revision counts from 0.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

import mybroker.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('wallet_transactions', sa.Column('fee_kind', sa.String(length=12), nullable=True))
    op.add_column(
        'reservations', sa.Column('traded_amount', mybroker.db.FixedDecimal(2), nullable=False, server_default='0')
    )


def downgrade() -> None:
    op.drop_column('reservations', 'traded_amount')
    op.drop_column('wallet_transactions', 'fee_kind')
