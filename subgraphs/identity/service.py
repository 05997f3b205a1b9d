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

from sqlalchemy.exc import IntegrityError

from mybroker.auth import Caller
from mybroker.db import Database, Transaction, utc_now
from mybroker.errors import DomainError, ErrorCode, bad_input, forbidden, unauthenticated
from subgraphs.identity import domain, repository, totp
from subgraphs.identity.domain import Account, PasswordHasher, PasswordReset, RefreshToken, User
from subgraphs.identity.keys import KeyRing
from subgraphs.identity.throttle import LoginThrottle
from mybroker.events import IDENTITY_MAIL
from subgraphs.identity.tokens import AccessTokenIssuer
from subgraphs.identity.wire import no_account_mail, password_reset_mail

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
                if await repository.user_id_by_email(tx.session, email) is not None:
                    raise _email_taken()
                await repository.add_user(tx.session, user, password_hash)
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
            account = await repository.account_by_email(session, email)
        stored = account.password_hash if account is not None else self._decoy_hash
        matches = await asyncio.to_thread(self.hasher.verify, password, stored)
        if account is None or not matches:
            await self.throttle.failed(email, client_address)
            raise domain.invalid_credentials()
        if account.totp_secret:
            # Only after the right password: the reason tells nothing to who lacks it.
            if not totp_code:
                raise _totp_error("TOTP_REQUIRED", "Enter the code from your authenticator app.")
            if not await self._use_totp_code(account.id, account.totp_secret, totp_code, account.totp_last_step):
                await self.throttle.failed(email, client_address)
                raise _totp_error("TOTP_INVALID", "The authenticator code is wrong or was already used.")
        await self.throttle.succeeded(email)
        user = account.user
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
            stored = await repository.refresh_token_for_update(tx.session, digest)
            if stored is None:
                raise unauthenticated("The refresh token is not valid; sign in again.")
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
                await repository.revoke_refresh_token(tx.session, digest, now)
                user = await repository.user(tx.session, stored.user_id)
                assert user is not None  # a refresh token's user_id is a foreign key
                refresh = await self._issue_refresh_token(tx, stored.user_id, family_id=stored.family_id)
        if reused is not None:
            raise reused
        assert user is not None  # not reused: read in the transaction
        return self._session(user, refresh, stored.family_id)

    async def logout(self, presented: str) -> bool:
        """Signs out the session (refresh family) of `presented`: its refresh tokens die and
        its access tokens are refused by the router within a second. Answers True for an
        unknown or already revoked token too: signing out is idempotent and says nothing."""
        now = self.clock()
        digest = domain.refresh_token_digest(presented)
        async with self.db.transaction() as tx:
            family = await repository.family_of(tx.session, digest)
            if family is not None:
                await self._revoke_family(tx, family, now)
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
        account = await self._find_account(user_id)
        if account is None:
            raise unauthenticated()
        await self.throttle.check(account.email, client_address)
        if not await asyncio.to_thread(self.hasher.verify, current, account.password_hash):
            await self.throttle.failed(account.email, client_address)
            raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.")
        await self.throttle.succeeded(account.email)
        password_hash = await asyncio.to_thread(self.hasher.hash, new)
        now = self.clock()
        async with self.db.transaction() as tx:
            await repository.set_password(tx.session, user_id, password_hash)
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
            user_id = await repository.user_id_by_email(tx.session, email)
            if user_id is None:
                mail = no_account_mail(email)
            else:
                reset = PasswordReset(
                    domain.refresh_token_digest(token), user_id, expires_at=now + timedelta(seconds=self.password_reset_ttl)
                )
                await repository.add_password_reset(tx.session, reset)
                minutes = self.password_reset_ttl // 60
                mail = password_reset_mail(email, token, minutes)
            await tx.emit(IDENTITY_MAIL, mail.envelope(), key=email)
        return True

    async def reset_password(self, token: str, new: str) -> bool:
        """A reset token works once and until it expires; every session is signed out."""
        domain.check_new_password(new)
        now = self.clock()
        digest = domain.refresh_token_digest(token)
        password_hash = await asyncio.to_thread(self.hasher.hash, new)
        async with self.db.transaction() as tx:
            reset = await repository.password_reset_for_update(tx.session, digest)
            if reset is None or not reset.usable(now):
                raise unauthenticated("The reset code is not valid or has expired; ask for a new one.")
            await repository.use_password_reset(tx.session, digest, now)
            await repository.set_password(tx.session, reset.user_id, password_hash)
            await self._revoke_sessions(tx, reset.user_id, now)
        return True

    async def enable_totp(self, caller: Caller) -> tuple[str, str]:
        """A new secret and its otpauth:// URI, pending until confirm_totp proves the app has it."""
        account = await self._find_account(caller.require_user())
        if account is None:
            raise unauthenticated()
        if account.totp_secret:
            raise bad_input("The second factor is already on; turn it off first to set up a new one.")
        secret = totp.new_secret()
        async with self.db.transaction() as tx:
            await repository.set_pending_totp(tx.session, account.id, secret)
        return secret, totp.provisioning_uri(secret, account.email)

    async def confirm_totp(self, caller: Caller, code: str) -> bool:
        account = await self._find_account(caller.require_user())
        if account is None:
            raise unauthenticated()
        if not account.totp_pending_secret:
            raise bad_input("Start with enableTotp.")
        step = totp.matching_step(account.totp_pending_secret, code, self.clock(), None)
        if step is None:
            raise bad_input("The authenticator code is wrong.")
        async with self.db.transaction() as tx:
            await repository.turn_totp_on(tx.session, account.id, account.totp_pending_secret, step)
        return True

    async def disable_totp(self, caller: Caller, code: str) -> bool:
        account = await self._find_account(caller.require_user())
        if account is None:
            raise unauthenticated()
        if not account.totp_secret:
            raise bad_input("The second factor is not on.")
        if not await self._use_totp_code(account.id, account.totp_secret, code, account.totp_last_step):
            await self.throttle.failed(account.email, None)
            raise _totp_error("TOTP_INVALID", "The authenticator code is wrong or was already used.")
        async with self.db.transaction() as tx:
            await repository.turn_totp_off(tx.session, account.id)
        return True

    async def _use_totp_code(self, user_id: str, secret: str, code: str, last_step: int | None) -> bool:
        """Accepts `code` once: the step moves forward only if no one else moved it first
        (two logins racing with one code: one wins)."""
        step = totp.matching_step(secret, code, self.clock(), last_step)
        if step is None:
            return False
        async with self.db.transaction() as tx:
            return await repository.advance_totp_step(tx.session, user_id, step)

    async def revoked_sessions(self) -> list[str]:
        """What the router polls: every session revoked recently enough that one of its
        access tokens may still be unexpired. The whole list each time, not a delta by
        `seq`: on MariaDB two transactions may commit out of `seq` order, and a delta
        would skip the later-committed smaller one. The list is short (15 minutes' worth)."""
        now = self.clock()
        async with self.db.read() as session:
            return await repository.revoked_sessions(session, now)

    async def me(self, caller: Caller) -> User | None:
        if not caller.authenticated or caller.user_id is None:
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
            return await repository.user(session, user_id)

    async def _issue_refresh_token(self, tx: Transaction, user_id: str, family_id: str) -> str:
        token = domain.new_refresh_token()
        record = RefreshToken.issue(token, user_id, family_id, self.clock(), self.refresh_token_ttl)
        await repository.add_refresh_token(tx.session, record)
        return token

    async def _find_account(self, user_id: str) -> Account | None:
        async with self.db.read() as session:
            return await repository.account(session, user_id)

    async def _revoke_sessions(self, tx: Transaction, user_id: str, now: datetime, keep: str | None = None) -> None:
        """Every session of the user with a live refresh token, but `keep`."""
        for family in await repository.live_families(tx.session, user_id):
            if family != keep:
                await self._revoke_family(tx, family, now)

    async def _revoke_family(self, tx: Transaction, family_id: str, now: datetime) -> None:
        """The family's refresh tokens die, and its session joins the revocation list, so
        access tokens already handed out stop working too (not only at their expiry)."""
        await repository.revoke_family(tx.session, family_id, now)
        await repository.add_session_revocation(
            tx.session, family_id, now, expires_at=now + timedelta(seconds=self.access_tokens.ttl_seconds)
        )
        # Entries past every access token's expiry are dead weight: pruned as we go.
        await repository.prune_session_revocations(tx.session, now)

    def _session(self, user: User, refresh_token: str, session_id: str) -> AuthSession:
        access = self.access_tokens.issue(user.id, self.clock(), session_id)
        return AuthSession(access, refresh_token, self.access_tokens.ttl_seconds, user)


def _totp_error(reason: str, message: str) -> DomainError:
    """INVALID_CREDENTIALS, the contract's code for a sign-in refused for what was typed,
    with `extensions.reason` telling the screen to ask for (again) the code: the contract's
    list of codes stays as it is (docs/design.md)."""
    return DomainError(ErrorCode.INVALID_CREDENTIALS, message, {"reason": reason})


def _email_taken() -> DomainError:
    return DomainError(ErrorCode.EMAIL_TAKEN, "An account with this e-mail already exists.")
