"""orders: stop orders (orders.stop_price, orders.triggered_at; `type` holds STOP_LIMIT)

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
    columns = {column['name'] for column in sa.inspect(op.get_bind()).get_columns('orders')}
    # A schema made by create_all and adopted may have the columns already.
    if 'stop_price' not in columns:
        op.add_column('orders', sa.Column('stop_price', mybroker.db.FixedDecimal(2), nullable=True))
    if 'triggered_at' not in columns:
        op.add_column('orders', sa.Column('triggered_at', mybroker.db.UtcDateTime(), nullable=True))
    # "STOP_LIMIT" is ten characters. Batch mode: SQLite cannot alter a column in place (it
    # copies the table); elsewhere it is a plain ALTER.
    with op.batch_alter_table('orders') as batch:
        batch.alter_column('type', type_=sa.String(length=16), existing_type=sa.String(length=8), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.alter_column('type', type_=sa.String(length=8), existing_type=sa.String(length=16), existing_nullable=False)
    op.drop_column('orders', 'triggered_at')
    op.drop_column('orders', 'stop_price')
