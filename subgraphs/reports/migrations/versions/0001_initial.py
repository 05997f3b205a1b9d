"""reports: initial schema (tables, indexes and unique constraints of subgraphs.reports.tables)

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
        'fills',
        sa.Column('execution_id', sa.String(length=64), nullable=False),
        sa.Column('order_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('side', sa.String(length=4), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('price', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('executed_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('execution_id'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_fills_user_id', 'fills', ['user_id'], unique=False)
    op.create_table(
        'holdings',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.Column('cost', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('realized', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('updated_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'ticker'),
        **MYSQL_TABLE,
    )
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


def downgrade() -> None:
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('inbox')
    op.drop_table('holdings')
    op.drop_index('ix_fills_user_id', table_name='fills')
    op.drop_table('fills')
