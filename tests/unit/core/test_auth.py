"""JWT verification at the edge and the identity the router vouches for."""
from __future__ import annotations

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mybroker.auth import (
    INTERNAL_TOKEN_HEADER,
    USER_HEADER,
    JwtVerifier,
    bearer_token,
    caller_from_headers,
    internal_headers,
)
from mybroker.errors import DomainError, ErrorCode


def _jwk(public_key, kid: str) -> dict:
    numbers = public_key.public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(numbers.n), "e": b64(numbers.e)}


@pytest.fixture(scope="module")
def keys():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), rsa.generate_private_key(
        public_exponent=65537, key_size=2048
    )


def _token(key, kid="k1", **claims) -> str:
    now = int(time.time())
    body = {"sub": "user-1", "iss": "iss", "aud": "aud", "iat": now, "exp": now + 60, "typ": "access", **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def _verifier(keys) -> JwtVerifier:
    verifier = JwtVerifier("http://127.0.0.1:9/unused", issuer="iss", audience="aud")
    verifier.load_jwks({"keys": [_jwk(keys[0].public_key(), "k1")]})
    return verifier


async def test_a_valid_token_names_its_user(keys):
    caller = await _verifier(keys).verify(_token(keys[0]))
    assert caller.user_id == "user-1"


@pytest.mark.parametrize(
    "make",
    [
        lambda k: _token(k[1]),  # signed by a key nobody published under that kid
        lambda k: _token(k[0], exp=int(time.time()) - 5),
        lambda k: _token(k[0], iss="someone-else"),
        lambda k: _token(k[0], aud="another-api"),
        lambda k: _token(k[0], typ="refresh"),
        lambda k: _token(k[0], kid="unknown"),
        lambda k: jwt.encode({"sub": "user-1"}, "s" * 32, algorithm="HS256", headers={"kid": "k1"}),
        lambda k: "not.a.token",
    ],
)
async def test_bad_tokens_are_unauthenticated(keys, make):
    with pytest.raises(DomainError) as raised:
        await _verifier(keys).verify(make(keys))
    assert raised.value.code is ErrorCode.UNAUTHENTICATED


def test_subgraphs_trust_the_user_header_only_with_the_internal_token():
    assert caller_from_headers(internal_headers("s3cret", "u1"), "s3cret").user_id == "u1"
    assert caller_from_headers({USER_HEADER: "u1"}, "s3cret").user_id is None
    assert caller_from_headers({USER_HEADER: "u1", INTERNAL_TOKEN_HEADER: "guess"}, "s3cret").user_id is None
    assert caller_from_headers(internal_headers("", "u1"), "").user_id is None, "no secret configured: trust nobody"


def test_bearer_header_parsing():
    assert bearer_token(None) is None
    assert bearer_token("Bearer abc") == "abc"
    with pytest.raises(DomainError):
        bearer_token("Basic abc")
