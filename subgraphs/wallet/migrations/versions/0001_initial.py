"""wallet: initial schema (tables, indexes and unique constraints of subgraphs.wallet.tables)

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
        'positions',
        sa.Column('wallet_id', sa.String(length=36), nullable=False),
        sa.Column('ticker', sa.String(length=20), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('blocked_quantity', sa.Integer(), nullable=False),
        sa.Column('average_price', mybroker.db.FixedDecimal(6), nullable=False),
        sa.Column('updated_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('wallet_id', 'ticker'),
        **MYSQL_TABLE,
    )
    op.create_table(
        'reservations',
        sa.Column('order_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('wallet_id', sa.String(length=36), nullable=False),
        sa.Column('side', sa.String(length=4), nullable=False),
        sa.Column('ticker', sa.String(length=20), nullable=False),
        sa.Column('price_per_share', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('open_quantity', sa.Integer(), nullable=False),
        sa.Column('amount', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('blocked_amount', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('updated_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('order_id'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_reservations_wallet_status', 'reservations', ['wallet_id', 'status'], unique=False)
    op.create_table(
        'settled_fills',
        sa.Column('execution_id', sa.String(length=64), nullable=False),
        sa.Column('order_id', sa.String(length=64), nullable=False),
        sa.Column('settled_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('execution_id'),
        **MYSQL_TABLE,
    )
    op.create_table(
        'wallet_transactions',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('wallet_id', sa.String(length=36), nullable=False),
        sa.Column('type', sa.String(length=12), nullable=False),
        sa.Column('amount', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('order_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('id'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_wallet_transactions_wallet_seq', 'wallet_transactions', ['wallet_id', 'seq'], unique=False)
    op.create_table(
        'wallets',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('available', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('blocked', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('created_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('updated_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table('wallets')
    op.drop_index('ix_wallet_transactions_wallet_seq', table_name='wallet_transactions')
    op.drop_table('wallet_transactions')
    op.drop_table('settled_fills')
    op.drop_index('ix_reservations_wallet_status', table_name='reservations')
    op.drop_table('reservations')
    op.drop_table('positions')
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('inbox')
