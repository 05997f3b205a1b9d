"""The broker's JWT verification as the router's Authenticator (launch/router_app.py)."""
from __future__ import annotations

import time

import jwt
import pytest

from mybroker.auth import SessionRevocations
from launch.router_app import JwtAuthenticator
from router.auth import ANONYMOUS, AuthenticationError, Caller

from .test_router_http import KID, rsa_key, token, verifier_for


@pytest.fixture(scope="module")
def key():
    return rsa_key()


async def test_no_authorization_header_is_an_anonymous_caller(key):
    assert await JwtAuthenticator(verifier_for(key)).authenticate({}) is ANONYMOUS
    assert await JwtAuthenticator(verifier_for(key)).authenticate({"authorization": ""}) is ANONYMOUS


async def test_a_verified_token_is_the_router_s_caller_with_its_session(key):
    verifier = verifier_for(key)
    signed = _with_session(key, verifier, "s-1")
    caller = await JwtAuthenticator(verifier).authenticate({"authorization": f"Bearer {signed}"})
    assert caller == Caller("7", "s-1") and type(caller) is Caller


@pytest.mark.parametrize("authorization, message", [
    ("Basic abc", "The Authorization header must be 'Bearer <accessToken>'."),
    ("Bearer not-a-jwt", "The access token is malformed."),
])
async def test_bad_credentials_are_an_authentication_error_with_the_broker_s_message(key, authorization, message):
    with pytest.raises(AuthenticationError) as raised:
        await JwtAuthenticator(verifier_for(key)).authenticate({"authorization": authorization})
    assert raised.value.message == message
    assert raised.value.code.value == "UNAUTHENTICATED"


async def test_a_signed_out_session_is_refused(key):
    verifier = verifier_for(key)

    async def revoked() -> list[str]:
        return ["s-1"]

    verifier.revocations = SessionRevocations("unused", "secret", fetch=revoked)
    signed = _with_session(key, verifier, "s-1")
    with pytest.raises(AuthenticationError, match="signed out"):
        await JwtAuthenticator(verifier).authenticate({"authorization": f"Bearer {signed}"})
    assert await JwtAuthenticator(verifier_for(key)).authenticate({"authorization": f"Bearer {token(key)}"}) == Caller("42")


def _with_session(key, verifier, session_id: str) -> str:
    now = int(time.time())
    claims = {"sub": "7", "iss": verifier.issuer, "aud": verifier.audience, "iat": now, "exp": now + 60, "typ": "access", "sid": session_id}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
