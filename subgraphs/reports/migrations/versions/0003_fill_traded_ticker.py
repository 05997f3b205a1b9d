"""reports: the ticker each fill traded on (fills.traded_ticker: PETR4F on the fractional
market), for the brokerage note's VISTA / FRACIONARIO; older fills keep NULL (their ticker).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('fills', sa.Column('traded_ticker', sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column('fills', 'traded_ticker')
