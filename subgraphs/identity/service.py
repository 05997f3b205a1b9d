"""Identity's use cases: register, log in, rotate refresh tokens, and who may see a user.

Password hashing runs in a worker thread before the write transaction, so neither the
event loop nor the database's write lock waits on scrypt."""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from mybroker.auth import Caller
from mybroker.db import Database, Transaction, utc_now
from mybroker.errors import DomainError, ErrorCode, bad_input, forbidden, unauthenticated
from subgraphs.identity import domain, totp
from subgraphs.identity.domain import PasswordHasher, RefreshToken, User
from subgraphs.identity.keys import KeyRing
from subgraphs.identity.throttle import LoginThrottle
from mybroker.events import IDENTITY_MAIL, MAIL, Envelope
from subgraphs.identity.tables import password_resets, refresh_tokens, session_revocations, users
from subgraphs.identity.tokens import AccessTokenIssuer

log = logging.getLogger("mybroker.identity")


@dataclass(frozen=True)
class AuthSession:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


class IdentityService:
    def __init__(
        self,
        db: Database,
        keys: KeyRing,
        access_tokens: AccessTokenIssuer,
        *,
        refresh_token_ttl: int,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = utc_now,
        throttle: LoginThrottle | None = None,
        password_reset_ttl: int = 1800,
    ):
        self.password_reset_ttl = password_reset_ttl
        self.throttle = throttle or LoginThrottle()
        self.db = db
        self.keys = keys
        self.access_tokens = access_tokens
        self.refresh_token_ttl = refresh_token_ttl
        self.hasher = hasher or PasswordHasher()
        self.clock = clock
        # Login verifies against this when the e-mail is unknown, so the answer takes as
        # long as for a wrong password and timing cannot tell which e-mails exist.
        self._decoy_hash = self.hasher.hash(uuid.uuid4().hex)

    # ------------------------------------------------------------ use cases

    async def register(self, email: str, password: str, name: str) -> AuthSession:
        email = domain.normalise_email(email)
        name = domain.normalise_name(name)
        domain.check_new_password(password)
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        user = User(str(uuid.uuid4()), email, name, self.clock())
        try:
            async with self.db.transaction() as tx:
                taken = await tx.session.execute(select(users.c.id).where(users.c.email == email))
                if taken.first() is not None:
                    raise _email_taken()
                await tx.session.execute(
                    insert(users).values(
                        id=user.id, email=user.email, name=user.name, password_hash=password_hash, created_at=user.created_at
                    )
                )
                family = str(uuid.uuid4())
                refresh = await self._issue_refresh_token(tx, user.id, family_id=family)
        except IntegrityError:
            # Two sign-ups with one e-mail at once: the unique index decided.
            raise _email_taken() from None
        return self._session(user, refresh, family)

    async def login(
        self, email: str, password: str, client_address: str | None = None, totp_code: str | None = None
    ) -> AuthSession:
        try:
            email = domain.normalise_email(email)
        except DomainError:
            email = ""  # cannot exist; still pay for a hash below
        # Before the password is checked: a locked account refuses the right one too.
        await self.throttle.check(email, client_address)
        async with self.db.read() as session:
            row = (await session.execute(select(users).where(users.c.email == email))).first()
        stored = row.password_hash if row is not None else self._decoy_hash
        matches = await asyncio.to_thread(self.hasher.verify, password, stored)
        if row is None or not matches:
            await self.throttle.failed(email, client_address)
            raise domain.invalid_credentials()
        if row.totp_secret:
            # Only after the right password: the reason tells nothing to who lacks it.
            if not totp_code:
                raise _totp_error("TOTP_REQUIRED", "Enter the code from your authenticator app.")
            if not await self._use_totp_code(row.id, row.totp_secret, totp_code, row.totp_last_step):
                await self.throttle.failed(email, client_address)
                raise _totp_error("TOTP_INVALID", "The authenticator code is wrong or was already used.")
        await self.throttle.succeeded(email)
        user = _user(row)
        family = str(uuid.uuid4())
        async with self.db.transaction() as tx:
            refresh = await self._issue_refresh_token(tx, user.id, family_id=family)
        return self._session(user, refresh, family)

    async def refresh(self, presented: str) -> AuthSession:
        """Rotation: the presented token dies and a new pair is issued. Presenting a token
        that was already rotated means it leaked: its whole family is revoked."""
        now = self.clock()
        digest = domain.refresh_token_digest(presented)
        reused: DomainError | None = None
        async with self.db.transaction() as tx:
            row = (
                await tx.session.execute(select(refresh_tokens).where(refresh_tokens.c.digest == digest).with_for_update())
            ).first()
            if row is None:
                raise unauthenticated("The refresh token is not valid; sign in again.")
            stored = RefreshToken(row.digest, row.user_id, row.family_id, row.issued_at, row.expires_at, row.revoked_at)
            try:
                stored.check_usable(now)
            except DomainError as error:
                if not stored.revoked:
                    raise  # expired: nothing to record
                # Commit the family's revocation, then refuse (outside the transaction).
                await self._revoke_family(tx, stored.family_id, now)
                log.warning("refresh token reused for user %s; revoked its family", stored.user_id)
                reused = error
            else:
                await tx.session.execute(
                    update(refresh_tokens).where(refresh_tokens.c.digest == digest).values(revoked_at=now)
                )
                user_row = (await tx.session.execute(select(users).where(users.c.id == stored.user_id))).one()
                refresh = await self._issue_refresh_token(tx, stored.user_id, family_id=stored.family_id)
        if reused is not None:
            raise reused
        return self._session(_user(user_row), refresh, stored.family_id)

    async def logout(self, presented: str) -> bool:
        """Signs out the session (refresh family) of `presented`: its refresh tokens die and
        its access tokens are refused by the router within a second. Answers True for an
        unknown or already revoked token too: signing out is idempotent and says nothing."""
        now = self.clock()
        digest = domain.refresh_token_digest(presented)
        async with self.db.transaction() as tx:
            row = (await tx.session.execute(select(refresh_tokens.c.family_id).where(refresh_tokens.c.digest == digest))).first()
            if row is not None:
                await self._revoke_family(tx, row.family_id, now)
        return True

    async def logout_everywhere(self, caller: Caller) -> bool:
        """Signs out every session of the caller (every family with a live refresh token:
        a session with a live access token always has one, see docs/design.md)."""
        user_id = caller.require_user()
        now = self.clock()
        async with self.db.transaction() as tx:
            await self._revoke_sessions(tx, user_id, now)
        return True

    async def change_password(self, caller: Caller, current: str, new: str, client_address: str | None = None) -> bool:
        """Signed in, and proving the current password (a stolen access token alone must not
        be enough); the new one follows register's rules. Every other session is signed
        out, the caller's own (its `sid`) is kept. A wrong current password counts against
        the login throttle like a wrong login."""
        user_id = caller.require_user()
        domain.check_new_password(new)
        row = await self._find_row(user_id)
        if row is None:
            raise unauthenticated()
        await self.throttle.check(row.email, client_address)
        if not await asyncio.to_thread(self.hasher.verify, current, row.password_hash):
            await self.throttle.failed(row.email, client_address)
            raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.")
        await self.throttle.succeeded(row.email)
        password_hash = await asyncio.to_thread(self.hasher.hash, new)
        now = self.clock()
        async with self.db.transaction() as tx:
            await tx.session.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
            await self._revoke_sessions(tx, user_id, now, keep=caller.session_id)
        return True

    async def request_password_reset(self, email: str) -> bool:
        """Always True, whether or not the e-mail has an account: the answer tells nothing.
        Both cases write one mail to the outbox (for an unknown address, a note that no
        account exists), so the work, and the time it takes, is the same too. The mail goes
        to the address typed, which tells its owner only what they already may know."""
        try:
            email = domain.normalise_email(email)
        except DomainError:
            return True  # no such address can have an account; nothing to send
        now = self.clock()
        token = domain.new_refresh_token()
        async with self.db.transaction() as tx:
            row = (await tx.session.execute(select(users.c.id).where(users.c.email == email))).first()
            if row is None:
                mail = {"to": email, "kind": "no-account", "subject": "Redefinição de senha",
                        "body": "Alguém pediu para redefinir a senha deste e-mail, mas não há conta com ele."}
            else:
                await tx.session.execute(
                    insert(password_resets).values(
                        digest=domain.refresh_token_digest(token), user_id=row.id,
                        expires_at=now + timedelta(seconds=self.password_reset_ttl),
                    )
                )
                minutes = self.password_reset_ttl // 60
                mail = {"to": email, "kind": "password-reset", "token": token, "subject": "Redefinição de senha",
                        "body": f"Use este código em até {minutes} minutos para criar uma senha nova: {token}"}
            await tx.emit(IDENTITY_MAIL, Envelope(MAIL, mail), key=email)
        return True

    async def reset_password(self, token: str, new: str) -> bool:
        """A reset token works once and until it expires; every session is signed out."""
        domain.check_new_password(new)
        now = self.clock()
        digest = domain.refresh_token_digest(token)
        password_hash = await asyncio.to_thread(self.hasher.hash, new)
        async with self.db.transaction() as tx:
            row = (
                await tx.session.execute(select(password_resets).where(password_resets.c.digest == digest).with_for_update())
            ).first()
            if row is None or row.used_at is not None or now >= row.expires_at:
                raise unauthenticated("The reset code is not valid or has expired; ask for a new one.")
            await tx.session.execute(update(password_resets).where(password_resets.c.digest == digest).values(used_at=now))
            await tx.session.execute(update(users).where(users.c.id == row.user_id).values(password_hash=password_hash))
            await self._revoke_sessions(tx, row.user_id, now)
        return True

    async def enable_totp(self, caller: Caller) -> tuple[str, str]:
        """A new secret and its otpauth:// URI, pending until confirm_totp proves the app has it."""
        row = await self._find_row(caller.require_user())
        if row is None:
            raise unauthenticated()
        if row.totp_secret:
            raise bad_input("The second factor is already on; turn it off first to set up a new one.")
        secret = totp.new_secret()
        async with self.db.transaction() as tx:
            await tx.session.execute(update(users).where(users.c.id == row.id).values(totp_pending_secret=secret))
        return secret, totp.provisioning_uri(secret, row.email)

    async def confirm_totp(self, caller: Caller, code: str) -> bool:
        row = await self._find_row(caller.require_user())
        if row is None:
            raise unauthenticated()
        if not row.totp_pending_secret:
            raise bad_input("Start with enableTotp.")
        step = totp.matching_step(row.totp_pending_secret, code, self.clock(), None)
        if step is None:
            raise bad_input("The authenticator code is wrong.")
        async with self.db.transaction() as tx:
            await tx.session.execute(
                update(users).where(users.c.id == row.id)
                .values(totp_secret=row.totp_pending_secret, totp_pending_secret=None, totp_last_step=step)
            )
        return True

    async def disable_totp(self, caller: Caller, code: str) -> bool:
        row = await self._find_row(caller.require_user())
        if row is None:
            raise unauthenticated()
        if not row.totp_secret:
            raise bad_input("The second factor is not on.")
        if not await self._use_totp_code(row.id, row.totp_secret, code, row.totp_last_step):
            await self.throttle.failed(row.email, None)
            raise _totp_error("TOTP_INVALID", "The authenticator code is wrong or was already used.")
        async with self.db.transaction() as tx:
            await tx.session.execute(
                update(users).where(users.c.id == row.id).values(totp_secret=None, totp_pending_secret=None, totp_last_step=None)
            )
        return True

    async def _use_totp_code(self, user_id: str, secret: str, code: str, last_step: int | None) -> bool:
        """Accepts `code` once: the step moves forward only if no one else moved it first
        (two logins racing with one code: one wins)."""
        step = totp.matching_step(secret, code, self.clock(), last_step)
        if step is None:
            return False
        async with self.db.transaction() as tx:
            result = await tx.session.execute(
                update(users)
                .where(users.c.id == user_id, (users.c.totp_last_step.is_(None)) | (users.c.totp_last_step < step))
                .values(totp_last_step=step)
            )
        return result.rowcount == 1

    async def revoked_sessions(self) -> list[str]:
        """What the router polls: every session revoked recently enough that one of its
        access tokens may still be unexpired. The whole list each time, not a delta by
        `seq`: on MariaDB two transactions may commit out of `seq` order, and a delta
        would skip the later-committed smaller one. The list is short (15 minutes' worth)."""
        now = self.clock()
        async with self.db.read() as session:
            rows = await session.execute(
                select(session_revocations.c.session_id).where(session_revocations.c.expires_at > now).distinct()
            )
            return list(rows.scalars().all())

    async def me(self, caller: Caller) -> User | None:
        if not caller.authenticated:
            return None
        return await self._find(caller.user_id)

    async def user_for(self, caller: Caller, user_id: str) -> User | None:
        """A user as a federation entity: only to that same user."""
        if caller.require_user() != user_id:
            raise forbidden("You can only see your own account.")
        return await self._find(user_id)

    def jwks(self) -> dict:
        return self.keys.jwks()

    # ------------------------------------------------------------ helpers

    async def _find(self, user_id: str) -> User | None:
        async with self.db.read() as session:
            row = (await session.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row is not None else None

    async def _issue_refresh_token(self, tx: Transaction, user_id: str, family_id: str) -> str:
        token = domain.new_refresh_token()
        record = RefreshToken.issue(token, user_id, family_id, self.clock(), self.refresh_token_ttl)
        await tx.session.execute(
            insert(refresh_tokens).values(
                digest=record.digest,
                user_id=record.user_id,
                family_id=record.family_id,
                issued_at=record.issued_at,
                expires_at=record.expires_at,
            )
        )
        return token

    async def _find_row(self, user_id: str):
        async with self.db.read() as session:
            return (await session.execute(select(users).where(users.c.id == user_id))).first()

    async def _revoke_sessions(self, tx: Transaction, user_id: str, now: datetime, keep: str | None = None) -> None:
        """Every session of the user with a live refresh token, but `keep`."""
        families = (
            await tx.session.execute(
                select(refresh_tokens.c.family_id)
                .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
                .distinct()
            )
        ).scalars().all()
        for family in families:
            if family != keep:
                await self._revoke_family(tx, family, now)

    async def _revoke_family(self, tx: Transaction, family_id: str, now: datetime) -> None:
        """The family's refresh tokens die, and its session joins the revocation list, so
        access tokens already handed out stop working too (not only at their expiry)."""
        await tx.session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await tx.session.execute(
            insert(session_revocations).values(
                session_id=family_id, revoked_at=now, expires_at=now + timedelta(seconds=self.access_tokens.ttl_seconds)
            )
        )
        # Entries past every access token's expiry are dead weight: pruned as we go.
        await tx.session.execute(delete(session_revocations).where(session_revocations.c.expires_at <= now))

    def _session(self, user: User, refresh_token: str, session_id: str) -> AuthSession:
        access = self.access_tokens.issue(user.id, self.clock(), session_id)
        return AuthSession(access, refresh_token, self.access_tokens.ttl_seconds, user)


def _user(row) -> User:
    return User(row.id, row.email, row.name, row.created_at)


def _totp_error(reason: str, message: str) -> DomainError:
    """INVALID_CREDENTIALS, the contract's code for a sign-in refused for what was typed,
    with `extensions.reason` telling the screen to ask for (again) the code: the contract's
    list of codes stays as it is (docs/design.md)."""
    return DomainError(ErrorCode.INVALID_CREDENTIALS, message, {"reason": reason})


def _email_taken() -> DomainError:
    return DomainError(ErrorCode.EMAIL_TAKEN, "An account with this e-mail already exists.")
