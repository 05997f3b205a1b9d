"""Users, refresh tokens, session revocations and password resets in and out of the
identity database, as domain objects. Every function takes the session of the caller's
transaction (or read); none commits."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity.domain import Account, PasswordReset, RefreshToken, User
from subgraphs.identity.tables import password_resets, refresh_tokens, session_revocations, users

U = users.c
T = refresh_tokens.c
S = session_revocations.c
P = password_resets.c

# ------------------------------------------------------------ users


async def user_id_by_email(session: AsyncSession, email: str) -> str | None:
    return (await session.execute(select(U.id).where(U.email == email))).scalar_one_or_none()


async def add_user(session: AsyncSession, user: User, password_hash: str) -> None:
    """Fails with IntegrityError when the e-mail is taken (its unique index decides a race)."""
    await session.execute(
        insert(users).values(id=user.id, email=user.email, name=user.name, password_hash=password_hash, created_at=user.created_at)
    )


async def user(session: AsyncSession, user_id: str) -> User | None:
    row = (await session.execute(select(users).where(U.id == user_id))).first()
    return _user(row) if row is not None else None


async def account(session: AsyncSession, user_id: str) -> Account | None:
    row = (await session.execute(select(users).where(U.id == user_id))).first()
    return _account(row) if row is not None else None


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    row = (await session.execute(select(users).where(U.email == email))).first()
    return _account(row) if row is not None else None


async def set_password(session: AsyncSession, user_id: str, password_hash: str) -> None:
    await session.execute(update(users).where(U.id == user_id).values(password_hash=password_hash))


async def set_pending_totp(session: AsyncSession, user_id: str, secret: str) -> None:
    await session.execute(update(users).where(U.id == user_id).values(totp_pending_secret=secret))


async def turn_totp_on(session: AsyncSession, user_id: str, secret: str, step: int) -> None:
    """The pending secret becomes the active one, `step` its first code's time step."""
    await session.execute(
        update(users).where(U.id == user_id).values(totp_secret=secret, totp_pending_secret=None, totp_last_step=step)
    )


async def turn_totp_off(session: AsyncSession, user_id: str) -> None:
    await session.execute(update(users).where(U.id == user_id).values(totp_secret=None, totp_pending_secret=None, totp_last_step=None))


async def advance_totp_step(session: AsyncSession, user_id: str, step: int) -> bool:
    """Moves the last accepted step to `step` only if it is behind it (one conditional
    update, so of two logins racing with one code only one moves it): True if this did."""
    result = await session.execute(
        update(users).where(U.id == user_id, (U.totp_last_step.is_(None)) | (U.totp_last_step < step)).values(totp_last_step=step)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE's Result is a CursorResult


# ------------------------------------------------------------ refresh tokens and sessions


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    await session.execute(
        insert(refresh_tokens).values(
            digest=token.digest,
            user_id=token.user_id,
            family_id=token.family_id,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
        )
    )


async def refresh_token_for_update(session: AsyncSession, digest: str) -> RefreshToken | None:
    row = (await session.execute(select(refresh_tokens).where(T.digest == digest).with_for_update())).first()
    if row is None:
        return None
    return RefreshToken(row.digest, row.user_id, row.family_id, row.issued_at, row.expires_at, row.revoked_at)


async def family_of(session: AsyncSession, digest: str) -> str | None:
    """The session (refresh family) a token belongs to, unlocked."""
    return (await session.execute(select(T.family_id).where(T.digest == digest))).scalar_one_or_none()


async def revoke_refresh_token(session: AsyncSession, digest: str, now: datetime) -> None:
    await session.execute(update(refresh_tokens).where(T.digest == digest).values(revoked_at=now))


async def live_families(session: AsyncSession, user_id: str) -> list[str]:
    """The user's sessions that still have a live (unrevoked) refresh token."""
    rows = await session.execute(select(T.family_id).where(T.user_id == user_id, T.revoked_at.is_(None)).distinct())
    return list(rows.scalars().all())


async def revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
    """Every live refresh token of the family dies."""
    await session.execute(update(refresh_tokens).where(T.family_id == family_id, T.revoked_at.is_(None)).values(revoked_at=now))


async def add_session_revocation(session: AsyncSession, session_id: str, revoked_at: datetime, expires_at: datetime) -> None:
    await session.execute(insert(session_revocations).values(session_id=session_id, revoked_at=revoked_at, expires_at=expires_at))


async def prune_session_revocations(session: AsyncSession, now: datetime) -> None:
    """Drops the revocations whose every access token has expired by `now`."""
    await session.execute(delete(session_revocations).where(S.expires_at <= now))


async def revoked_sessions(session: AsyncSession, now: datetime) -> list[str]:
    """The sessions revoked that an unexpired access token may still carry."""
    rows = await session.execute(select(S.session_id).where(S.expires_at > now).distinct())
    return list(rows.scalars().all())


# ------------------------------------------------------------ password resets


async def add_password_reset(session: AsyncSession, reset: PasswordReset) -> None:
    await session.execute(insert(password_resets).values(digest=reset.digest, user_id=reset.user_id, expires_at=reset.expires_at))


async def password_reset_for_update(session: AsyncSession, digest: str) -> PasswordReset | None:
    row = (await session.execute(select(password_resets).where(P.digest == digest).with_for_update())).first()
    return PasswordReset(row.digest, row.user_id, row.expires_at, row.used_at) if row is not None else None


async def use_password_reset(session: AsyncSession, digest: str, now: datetime) -> None:
    await session.execute(update(password_resets).where(P.digest == digest).values(used_at=now))


def _user(row: Any) -> User:
    return User(row.id, row.email, row.name, row.created_at)


def _account(row: Any) -> Account:
    return Account(_user(row), row.password_hash, row.totp_secret, row.totp_pending_secret, row.totp_last_step)
