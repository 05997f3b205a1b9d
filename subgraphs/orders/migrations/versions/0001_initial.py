"""orders: initial schema (tables, indexes and unique constraints of subgraphs.orders.tables)

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
        'inbox',
        sa.Column('consumer', sa.String(length=100), nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('consumer', 'message_id'),
        **MYSQL_TABLE,
    )
    op.create_table(
        'orders',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('client_order_id', sa.String(length=64), nullable=True),
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('side', sa.String(length=8), nullable=False),
        sa.Column('type', sa.String(length=8), nullable=False),
        sa.Column('time_in_force', sa.String(length=8), nullable=False),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.Column('limit_price', mybroker.db.FixedDecimal(2), nullable=True),
        sa.Column('protection_price', mybroker.db.FixedDecimal(2), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('filled_quantity', sa.BigInteger(), nullable=False),
        sa.Column('filled_value', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('cancel_requested_at', mybroker.db.UtcDateTime(), nullable=True),
        sa.Column('created_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('updated_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('id'),
        sa.UniqueConstraint('user_id', 'client_order_id', name='uq_orders_client_order_id'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_orders_user_seq', 'orders', ['user_id', 'seq'], unique=False)
    op.create_table(
        'outbox',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('channel', sa.String(length=100), nullable=False),
        sa.Column('message_key', sa.String(length=100), nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('seq'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_outbox_published_at', 'outbox', ['published_at'], unique=False)
    op.create_table(
        'executions',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('id', sa.String(length=100), nullable=False),
        sa.Column('order_id', sa.String(length=36), nullable=False),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.Column('price', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('executed_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('id'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_executions_order_id', 'executions', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_executions_order_id', table_name='executions')
    op.drop_table('executions')
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_orders_user_seq', table_name='orders')
    op.drop_table('orders')
    op.drop_table('inbox')
