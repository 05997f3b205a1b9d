"""identity: session_revocations (signed-out sessions whose access tokens the router refuses)
and password_resets (single-use, expiring reset tokens, digests only), users' TOTP columns

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

MYSQL_TABLE = dict(mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_bin")


def upgrade() -> None:
    op.create_table(
        'session_revocations',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('session_id', sa.String(length=36), nullable=False),
        sa.Column('revoked_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('expires_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_session_revocations_expires_at', 'session_revocations', ['expires_at'], unique=False)
    op.add_column('users', sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))
    op.add_column('users', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('users', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.create_table(
        'password_resets',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('expires_at', mybroker.db.UtcDateTime(), nullable=False),
        sa.Column('used_at', mybroker.db.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('digest'),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table('password_resets')
    with op.batch_alter_table('users') as batch:  # SQLite drops columns by copying the table
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_secret')
        batch.drop_column('totp_pending_secret')
    op.drop_index('ix_session_revocations_expires_at', table_name='session_revocations')
    op.drop_table('session_revocations')
