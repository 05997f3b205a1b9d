"""Identity's use cases on a temporary SQLite database."""
from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy import func, select

from mybroker.auth import ANONYMOUS, Caller
from mybroker.errors import DomainError, ErrorCode
from subgraphs.identity.tables import refresh_tokens, users

from .conftest import ACCESS_TTL, REFRESH_TTL

PASSWORD = "correct horse battery"


async def expect(code: ErrorCode, call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await call
    assert caught.value.code is code, caught.value
    return caught.value


async def count(db, table) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_register_creates_the_user_and_a_verifiable_session(identity):
    session = await identity.service.register("  Ana@Example.com ", PASSWORD, "  Ana  Silva ")
    assert session.user.email == "ana@example.com" and session.user.name == "Ana Silva"
    assert session.user.created_at == identity.clock.now
    assert session.expires_in == ACCESS_TTL
    caller = await identity.verifier().verify(session.access_token)
    assert caller.user_id == session.user.id
    async with identity.db.read() as db:
        row = (await db.execute(select(users))).one()
    assert row.password_hash.startswith("scrypt$") and PASSWORD not in row.password_hash


async def test_register_refuses_taken_emails_whatever_their_case(identity):
    await identity.service.register("ana@example.com", PASSWORD, "Ana")
    await expect(ErrorCode.EMAIL_TAKEN, identity.service.register("ANA@example.com", "another-pass", "Other Ana"))
    assert await count(identity.db, users) == 1


@pytest.mark.parametrize(
    "email, password, name",
    [("not-an-email", PASSWORD, "Ana"), ("ana@example.com", "short", "Ana"), ("ana@example.com", PASSWORD, "   ")],
)
async def test_register_with_bad_input_stores_nothing(identity, email, password, name):
    await expect(ErrorCode.BAD_USER_INPUT, identity.service.register(email, password, name))
    assert await count(identity.db, users) == 0 and await count(identity.db, refresh_tokens) == 0


async def test_concurrent_sign_ups_with_one_email_create_one_user(identity):
    results = await asyncio.gather(
        *(identity.service.register("race@example.com", PASSWORD, f"Racer {i}") for i in range(6)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(e, DomainError) and e.code is ErrorCode.EMAIL_TAKEN for e in losers)
    assert await count(identity.db, users) == 1


async def test_login_checks_the_password(identity):
    registered = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    session = await identity.service.login(" ANA@example.com", PASSWORD)
    assert session.user == registered.user
    assert session.refresh_token != registered.refresh_token
    assert (await identity.verifier().verify(session.access_token)).user_id == registered.user.id


async def test_wrong_password_and_unknown_email_answer_the_same(identity):
    await identity.service.register("ana@example.com", PASSWORD, "Ana")
    wrong = await expect(ErrorCode.INVALID_CREDENTIALS, identity.service.login("ana@example.com", PASSWORD + "!"))
    unknown = await expect(ErrorCode.INVALID_CREDENTIALS, identity.service.login("nobody@example.com", PASSWORD))
    malformed = await expect(ErrorCode.INVALID_CREDENTIALS, identity.service.login("nobody", PASSWORD))
    assert wrong.message == unknown.message == malformed.message


async def test_unknown_email_still_pays_for_a_hash(identity, monkeypatch):
    """Timing must not reveal which e-mails have accounts."""
    verified: list[str] = []
    real_verify = type(identity.service.hasher).verify

    def spy(hasher, password, stored):
        verified.append(stored)
        return real_verify(hasher, password, stored)

    monkeypatch.setattr(type(identity.service.hasher), "verify", spy)
    await expect(ErrorCode.INVALID_CREDENTIALS, identity.service.login("ghost@example.com", PASSWORD))
    assert len(verified) == 1 and verified[0].startswith("scrypt$")


async def test_refresh_rotates_the_pair(identity):
    first = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    second = await identity.service.refresh(first.refresh_token)
    assert second.user == first.user
    assert second.refresh_token != first.refresh_token
    assert (await identity.verifier().verify(second.access_token)).user_id == first.user.id
    third = await identity.service.refresh(second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_a_refresh_token_works_once(identity):
    first = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    await identity.service.refresh(first.refresh_token)
    await expect(ErrorCode.UNAUTHENTICATED, identity.service.refresh(first.refresh_token))


async def test_reusing_a_rotated_token_revokes_its_family_only(identity):
    stolen = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    rotated = await identity.service.refresh(stolen.refresh_token)
    other_device = await identity.service.login("ana@example.com", PASSWORD)
    await expect(ErrorCode.UNAUTHENTICATED, identity.service.refresh(stolen.refresh_token))
    # The reuse was committed as a revocation of the whole chain...
    await expect(ErrorCode.UNAUTHENTICATED, identity.service.refresh(rotated.refresh_token))
    # ...but a separate sign-in keeps working.
    assert (await identity.service.refresh(other_device.refresh_token)).user == stolen.user


async def test_refresh_tokens_expire(identity):
    session = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    still_fresh = await identity.service.login("ana@example.com", PASSWORD)
    identity.clock.advance(REFRESH_TTL - 1)
    await identity.service.refresh(still_fresh.refresh_token)
    identity.clock.advance(1)
    await expect(ErrorCode.UNAUTHENTICATED, identity.service.refresh(session.refresh_token))


async def test_unknown_refresh_tokens_are_unauthenticated(identity):
    await identity.service.register("ana@example.com", PASSWORD, "Ana")
    for token in ("", "made-up", "x" * 43):
        await expect(ErrorCode.UNAUTHENTICATED, identity.service.refresh(token))


async def test_only_digests_of_refresh_tokens_are_stored(identity):
    session = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    async with identity.db.read() as db:
        row = (await db.execute(select(refresh_tokens))).one()
    assert row.digest == hashlib.sha256(session.refresh_token.encode()).hexdigest()
    assert session.refresh_token not in {str(v) for v in row}
    assert (row.expires_at - row.issued_at).total_seconds() == REFRESH_TTL


async def test_me_is_the_caller_or_nobody(identity):
    session = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    assert await identity.service.me(ANONYMOUS) is None
    assert await identity.service.me(Caller(session.user.id)) == session.user
    assert await identity.service.me(Caller("no-such-user")) is None


async def test_a_user_entity_is_shown_to_that_user_only(identity):
    ana = await identity.service.register("ana@example.com", PASSWORD, "Ana")
    bob = await identity.service.register("bob@example.com", PASSWORD, "Bob")
    assert await identity.service.user_for(Caller(ana.user.id), ana.user.id) == ana.user
    await expect(ErrorCode.FORBIDDEN, identity.service.user_for(Caller(bob.user.id), ana.user.id))
    await expect(ErrorCode.UNAUTHENTICATED, identity.service.user_for(ANONYMOUS, ana.user.id))
