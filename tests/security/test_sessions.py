"""Signing out through the router (issue 13: an access token stayed valid up to 15 minutes
after its session was revoked). The router runs in its own process, as `mybroker up` runs
it, so this also proves it learns of revocations across processes. The one-second bound
itself is proved with a stepped clock in tests/unit/identity/test_sessions.py; here the
test waits for the refusal (the signal), with a generous deadline, asserting no timing."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from tests.e2e.test_trader_story import LOGIN, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ME = "{ me { id } }"
LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) }"
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def until_refused(client, token: str, deadline: float = 10.0) -> dict:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        _status, body = await client.post(ME, token=token)
        if codes(body):
            return body
        assert body["data"]["me"] is not None, body
        assert loop.time() < end, "the access token still works after its session was signed out"
        await asyncio.sleep(0.05)


async def test_logout_makes_the_access_token_stop_working(new_client):
    client = new_client()
    session = await sign_up(client, "leaver")
    assert (await client.execute(ME))["me"]["id"] == session["user"]["id"]
    assert (await client.execute(LOGOUT, {"t": session["refreshToken"]})) == {"logout": True}
    body = await until_refused(client, session["accessToken"])
    assert codes(body) == ["UNAUTHENTICATED"] and "signed out" in body["errors"][0]["message"]
    _status, body = await client.post(REFRESH, {"t": session["refreshToken"]})
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_logout_everywhere_signs_out_every_session_and_no_one_else(new_client):
    laptop, phone, bystander = new_client(), new_client(), new_client()
    first = await sign_up(laptop, "traveller")
    other = await sign_up(bystander, "bystander")
    second = (await phone.execute(LOGIN, {"input": {"email": first["user"]["email"], "password": "correct horse battery"}}))["login"]
    phone.token = second["accessToken"]
    assert (await phone.execute("mutation { logoutEverywhere }")) == {"logoutEverywhere": True}
    for client, token in ((laptop, first["accessToken"]), (phone, second["accessToken"])):
        assert codes(await until_refused(client, token)) == ["UNAUTHENTICATED"]
    assert (await bystander.execute(ME))["me"]["id"] == other["user"]["id"]


async def test_logout_everywhere_needs_a_token(new_client):
    _status, body = await new_client().post("mutation { logoutEverywhere }")
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_revocation_list_is_internal(platform, http):
    async with http.get(platform.settings.url("identity") + "/internal/sessions/revoked") as response:
        assert response.status == 403


async def test_change_password_signs_out_the_other_sessions_and_keeps_this_one(new_client):
    here, elsewhere = new_client(), new_client("198.51.100.40")  # elsewhere fails a login at the end
    first = await sign_up(here, "changer")
    login = {"input": {"email": first["user"]["email"], "password": "correct horse battery"}}
    elsewhere.token = (await elsewhere.execute(LOGIN, login))["login"]["accessToken"]
    change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
    assert (await here.execute(change, {"c": "correct horse battery", "n": "a brand new passphrase"})) == {"changePassword": True}
    assert codes(await until_refused(elsewhere, elsewhere.token)) == ["UNAUTHENTICATED"]
    assert (await here.execute(ME))["me"]["id"] == first["user"]["id"]  # this session kept
    elsewhere.token = None  # a signed-out token is refused whatever it asks, login too
    _status, body = await elsewhere.post(LOGIN, login)
    assert codes(body) == ["INVALID_CREDENTIALS"]


async def until_mail(path, to: str, kind: str, deadline: float = 10.0) -> dict:
    """Waits for the mail (outbox -> bus -> mailbox file) to arrive."""
    from subgraphs.identity.mail import read_mailbox

    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        found = [m for m in read_mailbox(path) if m["to"] == to and m["kind"] == kind]
        if found:
            return found[-1]
        assert loop.time() < end, f"no {kind} mail to {to}"
        await asyncio.sleep(0.05)


async def test_password_reset_through_the_mail_channel(platform, new_client):
    client = new_client()
    session = await sign_up(client, "forgetful")
    email = session["user"]["email"]
    request = "mutation($e: String!) { requestPasswordReset(email: $e) }"
    anonymous = new_client()
    known = await anonymous.post(request, {"e": email})
    unknown = await anonymous.post(request, {"e": "nobody-" + email})
    assert known == unknown == (200, {"data": {"requestPasswordReset": True}})
    mail = await until_mail(platform.settings.mailbox_path, email, "password-reset")
    await until_mail(platform.settings.mailbox_path, "nobody-" + email, "no-account")
    reset = "mutation($t: String!, $n: String!) { resetPassword(token: $t, newPassword: $n) }"
    assert (await anonymous.execute(reset, {"t": mail["token"], "n": "a fresh passphrase"})) == {"resetPassword": True}
    assert codes(await until_refused(client, session["accessToken"])) == ["UNAUTHENTICATED"]
    _status, body = await anonymous.post(reset, {"t": mail["token"], "n": "yet another passphrase"})
    assert codes(body) == ["UNAUTHENTICATED"]  # single use
    assert (await anonymous.execute(LOGIN, {"input": {"email": email, "password": "a fresh passphrase"}}))["login"]["accessToken"]


async def test_totp_through_the_router_required_then_not_replayable(new_client):
    import pyotp

    client = new_client()
    session = await sign_up(client, "careful")
    setup = (await client.execute("mutation { enableTotp { secret otpauthUri } }"))["enableTotp"]
    totp = pyotp.TOTP(setup["secret"])
    step = totp.timecode(datetime.now(timezone.utc))
    await client.execute("mutation($c: String!) { confirmTotp(code: $c) }", {"c": totp.generate_otp(step)})
    anonymous = new_client("198.51.100.41")  # two logins refused on purpose, from its own address
    login = {"email": session["user"]["email"], "password": "correct horse battery"}
    _status, body = await anonymous.post(LOGIN, {"input": login})
    assert body["errors"][0]["extensions"].items() >= {"code": "INVALID_CREDENTIALS", "reason": "TOTP_REQUIRED"}.items()
    code = totp.generate_otp(step + 1)  # the confirming step is spent; the next is in the window
    assert (await anonymous.execute(LOGIN, {"input": {**login, "totpCode": code}}))["login"]["accessToken"]
    _status, body = await anonymous.post(LOGIN, {"input": {**login, "totpCode": code}})
    assert body["errors"][0]["extensions"].items() >= {"code": "INVALID_CREDENTIALS", "reason": "TOTP_INVALID"}.items()
