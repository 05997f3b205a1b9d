"""wallet: when orders confirmed the order behind a reservation (reservations.order_seen_at)

The sweeper (subgraphs/wallet/sweeper.py) asks orders about open reservations still
unconfirmed after their grace; the index serves exactly that query.

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
    op.add_column('reservations', sa.Column('order_seen_at', mybroker.db.UtcDateTime(), nullable=True))
    op.create_index('ix_reservations_unseen', 'reservations', ['status', 'order_seen_at', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reservations_unseen', table_name='reservations')
    op.drop_column('reservations', 'order_seen_at')
