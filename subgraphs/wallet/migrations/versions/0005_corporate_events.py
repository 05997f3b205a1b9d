"""wallet: corporate events (dividends, JCP, splits, reverse splits) loaded from a file,
applied once per event and wallet (corporate_event_applications), and the ledger lines they
post (wallet_transactions.event_id; `type` widened to 20 for REVERSE_SPLIT, FRACTION_CASH)

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

import mybroker.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('wallet_transactions') as batch:
        batch.alter_column('type', existing_type=sa.String(length=12), type_=sa.String(length=20), existing_nullable=False)
        batch.add_column(sa.Column('event_id', sa.String(length=64), nullable=True))
    op.create_table(
        'corporate_events',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('ticker', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('record_date', sa.Date(), nullable=False),
        sa.Column('payment_date', sa.Date(), nullable=True),
        sa.Column('amount_per_share', mybroker.db.FixedDecimal(8), nullable=True),
        sa.Column('ratio_new', sa.Integer(), nullable=True),
        sa.Column('ratio_old', sa.Integer(), nullable=True),
        sa.Column('fraction_price', mybroker.db.FixedDecimal(2), nullable=True),
        sa.Column('approved_on', sa.Date(), nullable=True),
        sa.Column('description', sa.String(length=300), nullable=False),
        sa.Column('illustrative', sa.Boolean(), nullable=False),
        sa.Column('loaded_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_corporate_events_ticker', 'corporate_events', ['ticker', 'record_date'])
    op.create_table(
        'corporate_event_applications',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('wallet_id', sa.String(length=36), nullable=False),
        sa.Column('entitled', sa.Integer(), nullable=False),
        sa.Column('applied_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('event_id', 'wallet_id'),
    )
    op.create_table(
        'corporate_events_done',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('done_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('event_id'),
    )


def downgrade() -> None:
    op.drop_table('corporate_events_done')
    op.drop_table('corporate_event_applications')
    op.drop_index('ix_corporate_events_ticker', table_name='corporate_events')
    op.drop_table('corporate_events')
    with op.batch_alter_table('wallet_transactions') as batch:
        batch.drop_column('event_id')
        batch.alter_column('type', existing_type=sa.String(length=20), type_=sa.String(length=12), existing_nullable=False)
