"""Identity's pure rules: e-mail and name shapes, password policy and hashing, refresh tokens."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from mybroker.errors import DomainError, ErrorCode
from subgraphs.identity import domain
from subgraphs.identity.domain import PasswordHasher, RefreshToken


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Ana@Example.COM", "ana@example.com"),
        ("  bob.smith+trades@mail.example.com.br ", "bob.smith+trades@mail.example.com.br"),
        ("x@y.io", "x@y.io"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw, expected):
    assert domain.normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "not-an-email", "a@b", "a@@b.com", "@example.com", "ana@", "ana @example.com", "ana@exa mple.com",
     "ana@example..com", "ana..b@example.com", "ana@-example.com", "ana@example.c", "a" * 250 + "@example.com"],
)
def test_malformed_emails_are_bad_input(raw):
    with pytest.raises(DomainError) as caught:
        domain.normalise_email(raw)
    assert caught.value.code is ErrorCode.BAD_USER_INPUT


def test_names_are_trimmed_and_inner_whitespace_collapsed():
    assert domain.normalise_name("  Ana   Maria\tSilva ") == "Ana Maria Silva"
    assert domain.normalise_name("A") == "A"


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "x" * (domain.MAX_NAME_LENGTH + 1), "Ana\x00Maria", "Ana\u200bMaria"])
def test_bad_names_are_bad_input(raw):
    with pytest.raises(DomainError) as caught:
        domain.normalise_name(raw)
    assert caught.value.code is ErrorCode.BAD_USER_INPUT


def test_password_policy():
    assert domain.check_new_password("12345678") == "12345678"
    for bad in ("", "1234567", "x" * (domain.MAX_PASSWORD_LENGTH + 1)):
        with pytest.raises(DomainError) as caught:
            domain.check_new_password(bad)
        assert caught.value.code is ErrorCode.BAD_USER_INPUT


def test_scrypt_hash_verifies_the_right_password_only():
    hasher = PasswordHasher()  # production cost
    stored = hasher.hash("correct horse battery")
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", hasher.n, hasher.r, hasher.p)
    assert "correct horse battery" not in stored
    assert hasher.verify("correct horse battery", stored)
    assert not hasher.verify("correct horse batterY", stored)
    assert not hasher.verify("", stored)


def test_each_hash_has_its_own_salt():
    hasher = PasswordHasher(n=2**8)
    first, second = hasher.hash("same password"), hasher.hash("same password")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]


def test_parameters_travel_with_the_hash():
    """A hash made with other costs still verifies after the defaults change."""
    old = PasswordHasher(n=2**9, r=4, p=2).hash("s3cret-pass")
    assert PasswordHasher().verify("s3cret-pass", old)
    assert not PasswordHasher().verify("other-pass", old)


@pytest.mark.parametrize(
    "stored", ["", "plain", "bcrypt$1$2$3$abc$def", "scrypt$x$8$1$abc$def", "scrypt$256$8$1$!!$??", "scrypt$256$8$1"]
)
def test_malformed_stored_hashes_never_verify(stored):
    assert PasswordHasher(n=2**8).verify("anything", stored) is False


def test_a_tampered_hash_does_not_verify():
    hasher = PasswordHasher(n=2**8)
    stored = hasher.hash("s3cret-pass")
    head, key = stored.rsplit("$", 1)
    flipped = ("B" if key[0] != "B" else "C") + key[1:]
    assert not hasher.verify("s3cret-pass", f"{head}${flipped}")


def test_refresh_tokens_are_random_and_stored_as_sha256():
    tokens = {domain.new_refresh_token() for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 40 for t in tokens)
    token = next(iter(tokens))
    assert domain.refresh_token_digest(token) == hashlib.sha256(token.encode()).hexdigest()


def test_refresh_token_expiry_and_revocation():
    now = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
    record = RefreshToken.issue("tok", "user-1", "family-1", now, ttl_seconds=60)
    assert record.digest == domain.refresh_token_digest("tok") and record.expires_at == now + timedelta(seconds=60)
    record.check_usable(now + timedelta(seconds=59))
    for unusable, at in ((record, now + timedelta(seconds=60)), (RefreshToken(**{**record.__dict__, "revoked_at": now}), now)):
        with pytest.raises(DomainError) as caught:
            unusable.check_usable(at)
        assert caught.value.code is ErrorCode.UNAUTHENTICATED
