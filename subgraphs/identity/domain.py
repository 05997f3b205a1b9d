"""Identity's domain: who a user is, what a valid sign-up looks like, how passwords and
refresh tokens are kept. Pure: no I/O (hashing is CPU work the service runs off the loop)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from mybroker.errors import DomainError, ErrorCode, bad_input, unauthenticated

MIN_PASSWORD_LENGTH = 8
# scrypt's cost barely depends on the length, but nobody needs a novel as a password.
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit
MAX_NAME_LENGTH = 100

# One '@', no whitespace, a dotted domain with a TLD of 2+ letters. Deliberately not the
# full RFC 5322 grammar: only a confirmation e-mail could prove an address exists.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Account:
    """A user with what signs them in: the password's hash and the TOTP second factor (the
    secret pending between enableTotp and confirmTotp, the active one after, and the last
    time step a code was accepted for, so no code works twice within its window)."""

    user: User
    password_hash: str
    totp_secret: str | None = None
    totp_pending_secret: str | None = None
    totp_last_step: int | None = None

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email) or ".." in email:
        raise bad_input("Enter a valid e-mail address, such as ana@example.com.")
    return email


def normalise_name(raw: str) -> str:
    name = " ".join(raw.split())  # trims and collapses inner runs of whitespace
    if not name:
        raise bad_input("Enter your name.")
    if len(name) > MAX_NAME_LENGTH:
        raise bad_input(f"The name may have at most {MAX_NAME_LENGTH} characters.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise bad_input("The name contains control characters.")
    return name


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise bad_input(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise bad_input(f"The password may have at most {MAX_PASSWORD_LENGTH} characters.")
    return password


def invalid_credentials() -> DomainError:
    return DomainError(ErrorCode.INVALID_CREDENTIALS, "The e-mail or the password is wrong.")


@dataclass(frozen=True)
class PasswordHasher:
    """scrypt with a random salt per password; the parameters travel with the hash
    (`scrypt$n$r$p$salt$hash`), so raising the cost later keeps old hashes verifiable."""

    n: int = 2**14
    r: int = 8
    p: int = 1
    salt_bytes: int = 16
    key_bytes: int = 32

    def hash(self, password: str) -> str:
        salt = secrets.token_bytes(self.salt_bytes)
        key = self._derive(password, salt, self.n, self.r, self.p, self.key_bytes)
        return "$".join(("scrypt", str(self.n), str(self.r), str(self.p), _b64(salt), _b64(key)))

    def verify(self, password: str, stored: str) -> bool:
        try:
            scheme, n, r, p, salt, expected = stored.split("$")
            if scheme != "scrypt":
                return False
            expected_key = _unb64(expected)
            key = self._derive(password, _unb64(salt), int(n), int(r), int(p), len(expected_key))
        except ValueError:
            return False
        return hmac.compare_digest(key, expected_key)

    @staticmethod
    def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
        # maxmem: scrypt needs 128·n·r bytes; OpenSSL's default cap (32 MiB) is too tight for n=2^15+.
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=256 * n * r + 2**20)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------- refresh tokens


def new_refresh_token() -> str:
    """An opaque bearer secret; only its digest is stored."""
    return secrets.token_urlsafe(32)


def refresh_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RefreshToken:
    """A stored refresh token. Tokens rotated from one sign-in share a `family_id`, so a
    reused (already rotated) token can revoke the whole family: someone copied it."""

    digest: str
    user_id: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    @classmethod
    def issue(cls, token: str, user_id: str, family_id: str, now: datetime, ttl_seconds: int) -> "RefreshToken":
        return cls(refresh_token_digest(token), user_id, family_id, now, now + timedelta(seconds=ttl_seconds))

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def check_usable(self, now: datetime) -> None:
        if self.revoked:
            raise unauthenticated("The refresh token has already been used or revoked; sign in again.")
        if now >= self.expires_at:
            raise unauthenticated("The refresh token has expired; sign in again.")


# ---------------------------------------------------------------- password resets


@dataclass(frozen=True)
class PasswordReset:
    """A stored password-reset code (its digest only): works once, until it expires."""

    digest: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at
