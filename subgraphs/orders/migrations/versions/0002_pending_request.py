"""orders: a cancel or replace under way at B3 (orders.pending)

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A schema made by create_all and adopted as 0001 may have the column already.
    if 'pending' not in {column['name'] for column in sa.inspect(op.get_bind()).get_columns('orders')}:
        op.add_column('orders', sa.Column('pending', sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column('orders', 'pending')
