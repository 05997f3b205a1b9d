"""Identity's store: users and refresh tokens (digests only, never the tokens)."""
from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, MetaData, String, Table

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

# Identity emits no events today; the tables keep the unit of work uniform across services.
outbox, inbox = messaging_tables(metadata)
