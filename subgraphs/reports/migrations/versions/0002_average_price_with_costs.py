"""reports: the average price with costs (holdings.average_price, six places, the wallet's
rule: mybroker.cost_basis), and fills by order (an order's fees count on its fills so far)

Existing holdings get cost / quantity (truncated to six places); the fees they never
counted stay uncounted.

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


def upgrade() -> None:
    op.add_column('holdings', sa.Column('average_price', mybroker.db.FixedDecimal(6), nullable=False, server_default='0'))
    # FixedDecimal columns hold integer units: cost in centavos, the average in millionths.
    op.execute("UPDATE holdings SET average_price = (cost * 10000) / quantity WHERE quantity <> 0")
    op.create_index('ix_fills_order_id', 'fills', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_fills_order_id', table_name='fills')
    op.drop_column('holdings', 'average_price')
