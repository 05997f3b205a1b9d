"""Signing out (issue 13): logout and logoutEverywhere revoke refresh families, and the
verifier refuses the access tokens of revoked sessions once its copy of the revocation
list is at most `max_age` old (an injected clock steps time, nothing sleeps)."""
from __future__ import annotations

import pytest

from mybroker.auth import Caller, SessionRevocations
from mybroker.errors import DomainError

from .test_identity_graphql import LOGIN, register, run


class StepClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier_with_revocations(identity, clock):
    calls = []

    async def fetch():
        calls.append(clock.now)
        return await identity.service.revoked_sessions()

    verifier = identity.verifier()
    verifier.revocations = SessionRevocations("http://unused.invalid", "s", max_age=1.0, clock=clock, fetch=fetch)
    return verifier, calls


async def login(identity, email="ana@example.com", password="s3cret-pass"):
    data, errors = await run(identity, LOGIN, {"input": {"email": email, "password": password}})
    assert not errors, errors
    return data["login"]


async def refused(verifier, token) -> str:
    with pytest.raises(DomainError) as caught:
        await verifier.verify(token)
    assert caught.value.code.value == "UNAUTHENTICATED"
    return caught.value.message


async def test_logout_refuses_the_access_token_within_max_age(identity):
    clock = StepClock()
    verifier, calls = verifier_with_revocations(identity, clock)
    session = await register(identity)
    assert (await verifier.verify(session["accessToken"])).user_id == session["user"]["id"]

    data, errors = await run(identity, "mutation($t: String!) { logout(refreshToken: $t) }", {"t": session["refreshToken"]})
    assert not errors and data == {"logout": True}
    # Within max_age the verifier's copy is the one it had: no request per token.
    clock.now += 0.5
    assert (await verifier.verify(session["accessToken"])).user_id == session["user"]["id"]
    assert len(calls) == 1
    clock.now += 0.5  # now the copy is max_age old: refetched, the token refused
    assert "signed out" in await refused(verifier, session["accessToken"])
    assert len(calls) == 2
    # The refresh token died with its session.
    _data, errors = await run(identity, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", {"t": session["refreshToken"]})
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]


async def test_logout_signs_out_only_that_session(identity):
    clock = StepClock()
    verifier, _calls = verifier_with_revocations(identity, clock)
    first = await register(identity)
    second = await login(identity)
    await identity.service.logout(first["refreshToken"])
    clock.now += 1.0
    await refused(verifier, first["accessToken"])
    assert (await verifier.verify(second["accessToken"])).user_id == second["user"]["id"]


async def test_a_refreshed_token_of_a_signed_out_session_is_refused_too(identity):
    """The session is the refresh family: tokens from rotation share its sid."""
    clock = StepClock()
    verifier, _calls = verifier_with_revocations(identity, clock)
    first = await register(identity)
    rotated = await identity.service.refresh(first["refreshToken"])
    await identity.service.logout(rotated.refresh_token)
    clock.now += 1.0
    await refused(verifier, first["accessToken"])
    await refused(verifier, rotated.access_token)


async def test_logout_everywhere_signs_out_every_session_of_that_user_only(identity):
    clock = StepClock()
    verifier, _calls = verifier_with_revocations(identity, clock)
    a1 = await register(identity)
    a2 = await login(identity)
    bob = await register(identity, email="bob@example.com", name="Bob")
    data, errors = await run(identity, "mutation { logoutEverywhere }", caller=Caller(a1["user"]["id"]))
    assert not errors and data == {"logoutEverywhere": True}
    clock.now += 1.0
    await refused(verifier, a1["accessToken"])
    await refused(verifier, a2["accessToken"])
    assert (await verifier.verify(bob["accessToken"])).user_id == bob["user"]["id"]
    with pytest.raises(DomainError):
        await identity.service.refresh(a2["refreshToken"])


async def test_logout_everywhere_needs_a_signed_in_caller(identity):
    _data, errors = await run(identity, "mutation { logoutEverywhere }")
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]


async def test_logout_of_an_unknown_token_says_nothing(identity):
    assert await identity.service.logout("not-a-token") is True


async def test_reusing_a_rotated_token_revokes_the_sessions_access_tokens(identity):
    clock = StepClock()
    verifier, _calls = verifier_with_revocations(identity, clock)
    first = await register(identity)
    rotated = await identity.service.refresh(first["refreshToken"])
    with pytest.raises(DomainError):
        await identity.service.refresh(first["refreshToken"])  # reuse: someone copied it
    clock.now += 1.0
    await refused(verifier, rotated.access_token)


async def test_revocations_are_forgotten_once_every_access_token_has_expired(identity):
    session = await register(identity)
    await identity.service.logout(session["refreshToken"])
    assert len(await identity.service.revoked_sessions()) == 1
    identity.clock.advance(identity.service.access_tokens.ttl_seconds + 1)
    assert await identity.service.revoked_sessions() == []


async def test_an_unreachable_identity_keeps_the_last_list_and_retries_after_max_age():
    clock = StepClock()
    answers = [["s1"], ConnectionError, ["s1", "s2"]]
    calls = []

    async def fetch():
        calls.append(clock.now)
        answer = answers.pop(0)
        if answer is ConnectionError:
            import aiohttp

            raise aiohttp.ClientConnectionError("down")
        return answer

    revocations = SessionRevocations("http://unused.invalid", "s", clock=clock, fetch=fetch)
    assert await revocations.is_revoked("s1") and not await revocations.is_revoked("s2")
    clock.now += 1.0
    assert await revocations.is_revoked("s1") and not await revocations.is_revoked("s2")  # failed: last list
    clock.now += 0.5
    assert not await revocations.is_revoked("s2") and len(calls) == 2  # no retry storm
    clock.now += 0.5
    assert await revocations.is_revoked("s2") and len(calls) == 3


CHANGE = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"


def caller_of(verified) -> Caller:
    return Caller(verified.user_id, verified.session_id)


async def test_change_password_signs_out_the_other_sessions_and_keeps_this_one(identity):
    clock = StepClock()
    verifier, _calls = verifier_with_revocations(identity, clock)
    here = await register(identity)
    elsewhere = await login(identity)
    me = caller_of(await verifier.verify(here["accessToken"]))
    assert me.session_id
    data, errors = await run(identity, CHANGE, {"c": "s3cret-pass", "n": "n3w-secret-pass"}, caller=me)
    assert not errors and data == {"changePassword": True}
    clock.now += 1.0
    assert (await verifier.verify(here["accessToken"])).user_id == me.user_id
    await refused(verifier, elsewhere["accessToken"])
    await identity.service.refresh(here["refreshToken"])  # this session's refresh token lives on
    with pytest.raises(DomainError):
        await identity.service.refresh(elsewhere["refreshToken"])
    # The new password signs in, the old one no longer.
    await login(identity, password="n3w-secret-pass")
    _data, errors = await run(identity, LOGIN, {"input": {"email": "ana@example.com", "password": "s3cret-pass"}})
    assert [e["extensions"]["code"] for e in errors] == ["INVALID_CREDENTIALS"]


@pytest.mark.parametrize(
    "current, new, code",
    [("wrong-pass", "n3w-secret-pass", "INVALID_CREDENTIALS"), ("s3cret-pass", "short", "BAD_USER_INPUT")],
)
async def test_change_password_refusals(identity, current, new, code):
    here = await register(identity)
    me = caller_of(await identity.verifier().verify(here["accessToken"]))
    _data, errors = await run(identity, CHANGE, {"c": current, "n": new}, caller=me)
    assert [e["extensions"]["code"] for e in errors] == [code]
    await login(identity)  # the password did not change
    _data, errors = await run(identity, CHANGE, {"c": "s3cret-pass", "n": "n3w-secret-pass"})
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]


async def test_wrong_current_passwords_run_into_the_login_throttle(identity):
    here = await register(identity)
    me = caller_of(await identity.verifier().verify(here["accessToken"]))
    seen = [
        (await run(identity, CHANGE, {"c": f"guess {n}", "n": "n3w-secret-pass"}, caller=me))[1][0]["extensions"]["code"]
        for n in range(12)
    ]
    assert seen[0] == "INVALID_CREDENTIALS" and seen[-1] == "RATE_LIMITED", seen


# ------------------------------------------------------------------ password reset


async def outbox_mails(identity) -> list[dict]:
    """The mails identity queued (its outbox on IDENTITY_MAIL), oldest first."""
    from sqlalchemy import select

    from mybroker.events import IDENTITY_MAIL, Envelope
    from subgraphs.identity.tables import outbox

    async with identity.db.read() as session:
        rows = (await session.execute(select(outbox).where(outbox.c.channel == IDENTITY_MAIL).order_by(outbox.c.seq))).all()
    return [Envelope.from_bytes(row.payload).data for row in rows]


RESET = "mutation($t: String!, $n: String!) { resetPassword(token: $t, newPassword: $n) }"
REQUEST = "mutation($e: String!) { requestPasswordReset(email: $e) }"


async def test_reset_answers_the_same_for_known_and_unknown_emails(identity):
    await register(identity)
    known = await run(identity, REQUEST, {"e": "ana@example.com"})
    unknown = await run(identity, REQUEST, {"e": "nobody@example.com"})
    assert known == unknown == ({"requestPasswordReset": True}, [])
    mails = await outbox_mails(identity)
    assert [(m["to"], m["kind"]) for m in mails] == [("ana@example.com", "password-reset"), ("nobody@example.com", "no-account")]
    assert "token" not in mails[1]


async def test_reset_token_is_single_use_and_signs_out_every_session(identity):
    clock = StepClock()
    verifier, _calls = verifier_with_revocations(identity, clock)
    session = await register(identity)
    await run(identity, REQUEST, {"e": "ana@example.com"})
    token = (await outbox_mails(identity))[0]["token"]
    data, errors = await run(identity, RESET, {"t": token, "n": "brand-new-pass"})
    assert not errors and data == {"resetPassword": True}
    clock.now += 1.0
    await refused(verifier, session["accessToken"])
    await login(identity, password="brand-new-pass")
    _data, errors = await run(identity, RESET, {"t": token, "n": "another-new-pass"})
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]  # used
    await login(identity, password="brand-new-pass")


async def test_reset_token_expires(identity):
    await register(identity)
    await run(identity, REQUEST, {"e": "ana@example.com"})
    token = (await outbox_mails(identity))[0]["token"]
    identity.clock.advance(identity.service.password_reset_ttl)
    _data, errors = await run(identity, RESET, {"t": token, "n": "brand-new-pass"})
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]
    await login(identity)  # unchanged


async def test_reset_follows_registers_password_rules_and_keeps_the_token(identity):
    await register(identity)
    await run(identity, REQUEST, {"e": "ana@example.com"})
    token = (await outbox_mails(identity))[0]["token"]
    _data, errors = await run(identity, RESET, {"t": token, "n": "short"})
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    data, errors = await run(identity, RESET, {"t": token, "n": "long-enough-now"})
    assert not errors


# ------------------------------------------------------------------ TOTP second factor

import pyotp  # noqa: E402

from subgraphs.identity import totp  # noqa: E402

LOGIN_TOTP = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"


def code_at(secret: str, moment, steps: int = 0) -> str:
    t = pyotp.TOTP(secret)
    return t.generate_otp(t.timecode(moment) + steps)


async def login_with(identity, code):
    return await run(identity, LOGIN_TOTP, {"input": {"email": "ana@example.com", "password": "s3cret-pass", "totpCode": code}})


async def with_totp_on(identity) -> str:
    session = await register(identity)
    me = Caller(session["user"]["id"])
    data, errors = await run(identity, "mutation { enableTotp { secret otpauthUri } }", caller=me)
    assert not errors
    secret = data["enableTotp"]["secret"]
    assert data["enableTotp"]["otpauthUri"].startswith("otpauth://totp/") and "ana%40example.com" in data["enableTotp"]["otpauthUri"]
    # Pending: login still needs no code until it is confirmed.
    await login(identity)
    _data, errors = await run(identity, "mutation($c: String!) { confirmTotp(code: $c) }", {"c": "000000" if code_at(secret, identity.clock()) != "000000" else "111111"}, caller=me)
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    data, errors = await run(identity, "mutation($c: String!) { confirmTotp(code: $c) }", {"c": code_at(secret, identity.clock())}, caller=me)
    assert not errors and data == {"confirmTotp": True}
    return secret


async def test_totp_is_required_once_on_and_a_code_cannot_be_replayed(identity):
    secret = await with_totp_on(identity)
    _data, errors = await login_with(identity, None)
    assert errors[0]["extensions"] == {"code": "INVALID_CREDENTIALS", "reason": "TOTP_REQUIRED"}
    identity.clock.advance(30)  # the confirming code's step is used: the next one
    code = code_at(secret, identity.clock())
    data, errors = await login_with(identity, code)
    assert not errors and data["login"]["accessToken"]
    _data, errors = await login_with(identity, code)  # the same code again, same window
    assert errors[0]["extensions"] == {"code": "INVALID_CREDENTIALS", "reason": "TOTP_INVALID"}
    # An older step than the one used is refused too (still within the window).
    _data, errors = await login_with(identity, code_at(secret, identity.clock(), -1))
    assert errors[0]["extensions"]["reason"] == "TOTP_INVALID"


async def test_a_wrong_password_says_nothing_about_totp(identity):
    await with_totp_on(identity)
    _data, errors = await run(identity, LOGIN_TOTP, {"input": {"email": "ana@example.com", "password": "wrong-pass"}})
    assert errors[0]["extensions"] == {"code": "INVALID_CREDENTIALS"}


async def test_wrong_totp_codes_count_against_the_login_throttle(identity):
    secret = await with_totp_on(identity)
    wrong = "123456" if code_at(secret, identity.clock()) != "123456" else "654321"
    seen = [(await login_with(identity, wrong))[1][0]["extensions"]["code"] for _ in range(12)]
    assert seen[0] == "INVALID_CREDENTIALS" and seen[-1] == "RATE_LIMITED", seen


async def test_disable_totp_needs_a_current_code(identity):
    secret = await with_totp_on(identity)
    ana, errors = await login_with(identity, code_at(secret, identity.clock(), 1))  # the next step, within the window
    assert not errors
    caller = Caller((await identity.verifier().verify(ana["login"]["accessToken"])).user_id)
    _data, errors = await run(identity, "mutation($c: String!) { disableTotp(code: $c) }", {"c": "12345"}, caller=caller)
    assert errors[0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    identity.clock.advance(60)
    data, errors = await run(identity, "mutation($c: String!) { disableTotp(code: $c) }", {"c": code_at(secret, identity.clock())}, caller=caller)
    assert not errors and data == {"disableTotp": True}
    await login(identity)  # no code needed any more


def test_matching_step_window_and_format():
    from datetime import datetime, timezone

    secret = totp.new_secret()
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    step = pyotp.TOTP(secret).timecode(now)
    assert totp.matching_step(secret, code_at(secret, now), now, None) == step
    assert totp.matching_step(secret, code_at(secret, now, 1), now, None) == step + 1
    assert totp.matching_step(secret, code_at(secret, now, 2), now, None) is None  # outside the window
    assert totp.matching_step(secret, code_at(secret, now), now, step) is None  # already used
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６"):
        assert totp.matching_step(secret, bad, now, None) is None
