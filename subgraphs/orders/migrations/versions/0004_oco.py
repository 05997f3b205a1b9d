"""orders: OCO pairs (orders.oco_sibling_id)

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {column['name'] for column in sa.inspect(op.get_bind()).get_columns('orders')}
    # A schema made by create_all and adopted may have the column already.
    if 'oco_sibling_id' not in columns:
        op.add_column('orders', sa.Column('oco_sibling_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    op.drop_column('orders', 'oco_sibling_id')
