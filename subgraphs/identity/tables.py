"""Identity's store: users and refresh tokens (digests only, never the tokens)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, MetaData, String, Table

from mybroker.db import UtcDateTime, messaging_tables

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # TOTP second factor: the pending secret between enableTotp and confirmTotp, the active
    # one after, and the last time step a code was accepted for (no replay within a window).
    Column("totp_pending_secret", String(64)),
    Column("totp_secret", String(64)),
    Column("totp_last_step", BigInteger()),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha256 hex of the token
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("family_id", String(36), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Index("ix_refresh_tokens_family", "family_id"),
)

# Sessions (refresh families) signed out before their access tokens expire: the router polls
# these (GET /internal/sessions/revoked) and refuses those tokens. `seq` orders them so a
# poller asks only for what is new; a row matters until `expires_at` (revoked_at + the
# access-token lifetime), when every access token of that session has expired anyway.
session_revocations = Table(
    "session_revocations",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("session_id", String(36), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_session_revocations_expires_at", "expires_at"),
)

# Password-reset tokens (digests only): single use (`used_at`), valid until `expires_at`.
password_resets = Table(
    "password_resets",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
)

# Identity emits no events today; the tables keep the unit of work uniform across services.
outbox, inbox = messaging_tables(metadata)
