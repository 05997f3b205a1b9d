"""reports: the corporate events the wallet applied to each user (dividends, JCP with their
IRRF, splits and reverse splits with their fraction's cash), one row per event and user

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
    op.create_table(
        'corporate_events_received',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('ticker', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('record_date', sa.Date(), nullable=False),
        sa.Column('applied_on', sa.Date(), nullable=False),
        sa.Column('entitled', sa.BigInteger(), nullable=False),
        sa.Column('gross', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('withheld', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('fraction_cash', mybroker.db.FixedDecimal(2), nullable=False),
        sa.Column('received_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('ratio_new', sa.Integer(), nullable=True),
        sa.Column('ratio_old', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('user_id', 'event_id'),
    )


def downgrade() -> None:
    op.drop_table('corporate_events_received')
