"""Signing keys, the JWKS and access tokens, checked with the router's own verifier."""
from __future__ import annotations

import base64
import json
import stat
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mybroker.auth import JwtVerifier
from mybroker.errors import DomainError, ErrorCode
from mybroker.settings import Settings
from subgraphs.identity.keys import KEY_FILE_NAME, KeyRing, SigningKey, jwk_thumbprint, load_key_ring
from subgraphs.identity.tokens import AccessTokenIssuer

ISSUER, AUDIENCE = "mybroker-identity", "mybroker"


def verifier_for(ring: KeyRing, issuer: str = ISSUER) -> JwtVerifier:
    verifier = JwtVerifier("http://unused.invalid/jwks.json", issuer=issuer, audience=AUDIENCE)
    verifier.load_jwks(ring.jwks())
    return verifier


async def assert_rejected(verifier: JwtVerifier, token: str) -> None:
    with pytest.raises(DomainError) as caught:
        await verifier.verify(token)
    assert caught.value.code is ErrorCode.UNAUTHENTICATED


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_thumbprint_matches_rfc_7638_example():
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
        "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9"
        "c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1"
        "jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    assert jwk_thumbprint({"n": n, "e": "AQAB", "kty": "RSA"}) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_jwks_publishes_public_halves_only(signing_keys):
    key = signing_keys[0]
    (jwk,) = KeyRing([key]).jwks()["keys"]
    assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}
    assert (jwk["kty"], jwk["use"], jwk["alg"]) == ("RSA", "sig", "RS256")
    assert jwk["kid"] == key.kid == jwk_thumbprint({"kty": "RSA", "n": jwk["n"], "e": jwk["e"]})
    numbers = key.private_key.public_key().public_numbers()
    decoded_n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    assert decoded_n == numbers.n and jwk["e"] == "AQAB"


async def test_access_tokens_verify_with_the_routers_verifier(signing_keys):
    ring = KeyRing([signing_keys[0]])
    issued_at = now()
    token = AccessTokenIssuer(ring, ISSUER, AUDIENCE, 900).issue("user-42", issued_at)
    caller = await verifier_for(ring).verify(token)
    assert caller.user_id == "user-42"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == signing_keys[0].kid
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "user-42" and claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["typ"] == "access" and claims["exp"] - claims["iat"] == 900
    assert claims["iat"] == int(issued_at.timestamp()) and len(claims["jti"]) >= 16
    other = AccessTokenIssuer(ring, ISSUER, AUDIENCE, 900).issue("user-42", issued_at)
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != claims["jti"]


async def test_expired_and_foreign_tokens_are_rejected(signing_keys):
    ring = KeyRing([signing_keys[0]])
    verifier = verifier_for(ring)
    expired = AccessTokenIssuer(ring, ISSUER, AUDIENCE, 60).issue("u", now() - timedelta(seconds=120))
    await assert_rejected(verifier, expired)
    other_issuer = AccessTokenIssuer(ring, "someone-else", AUDIENCE, 60).issue("u", now())
    await assert_rejected(verifier, other_issuer)
    other_audience = AccessTokenIssuer(ring, ISSUER, "another-app", 60).issue("u", now())
    await assert_rejected(verifier, other_audience)


async def test_forged_tokens_are_rejected(signing_keys):
    ring = KeyRing([signing_keys[0]])
    verifier = verifier_for(ring)
    genuine = AccessTokenIssuer(ring, ISSUER, AUDIENCE, 900).issue("alice", now())
    # Signed by a key the JWKS does not hold, but claiming the published kid.
    impostor = signing_keys[1]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "mallory"}, impostor.private_key, algorithm="RS256", headers={"kid": ring.signing_key.kid})
    await assert_rejected(verifier, forged)
    # The genuine signature over a changed payload.
    head, _payload, signature = genuine.split(".")
    swapped = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "mallory"}).encode()).rstrip(b"=").decode()
    await assert_rejected(verifier, f"{head}.{swapped}.{signature}")
    # alg=none and HS256 keyed with public material.
    await assert_rejected(verifier, jwt.encode({**claims}, None, algorithm="none", headers={"kid": ring.signing_key.kid}))
    await assert_rejected(verifier, jwt.encode(claims, "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256", headers={"kid": ring.signing_key.kid}))
    # A refresh-shaped token (wrong typ) is not an access token.
    not_access = jwt.encode({**claims, "typ": "refresh"}, ring.signing_key.private_key, algorithm="RS256", headers={"kid": ring.signing_key.kid})
    await assert_rejected(verifier, not_access)


async def test_rotation_newest_signs_and_older_keys_still_verify(signing_keys):
    old, new = signing_keys
    before = KeyRing([old])
    token_by_old = AccessTokenIssuer(before, ISSUER, AUDIENCE, 900).issue("u1", now())
    after = KeyRing.from_pem_bundle((new.to_pem() + old.to_pem()).decode())
    assert after.signing_key.kid == new.kid
    assert [k["kid"] for k in after.jwks()["keys"]] == [new.kid, old.kid]
    token_by_new = AccessTokenIssuer(after, ISSUER, AUDIENCE, 900).issue("u2", now())
    assert jwt.get_unverified_header(token_by_new)["kid"] == new.kid
    verifier = verifier_for(after)
    assert (await verifier.verify(token_by_old)).user_id == "u1"
    assert (await verifier.verify(token_by_new)).user_id == "u2"
    # Once the old key is dropped, its tokens stop verifying.
    await assert_rejected(verifier_for(KeyRing([new])), token_by_old)


def test_key_file_is_created_once_owner_only_then_reused(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    first = load_key_ring(settings)
    path = tmp_path / "data" / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.signing_key.private_key.key_size == 2048
    again = load_key_ring(settings)
    assert again.signing_key.kid == first.signing_key.kid


def test_key_from_settings_wins_over_the_file(tmp_path, signing_keys):
    pem = signing_keys[1].to_pem().decode()
    ring = load_key_ring(Settings(data_dir=tmp_path, jwt_private_key=pem))
    assert ring.signing_key.kid == signing_keys[1].kid
    assert not (tmp_path / KEY_FILE_NAME).exists()
    from_env = Settings.from_env(env={"MYBROKER_JWT_PRIVATE_KEY": pem})
    assert from_env.jwt_private_key == pem


def test_bad_key_material_is_refused(tmp_path):
    with pytest.raises(ValueError):
        load_key_ring(Settings(data_dir=tmp_path, jwt_private_key="not a key"))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError):
        SigningKey.from_pem(weak)


def test_tokens_carry_integer_times(signing_keys):
    token = AccessTokenIssuer(KeyRing([signing_keys[0]]), ISSUER, AUDIENCE, 5).issue("u", now())
    claims = jwt.decode(token, options={"verify_signature": False})
    assert isinstance(claims["iat"], int) and abs(claims["iat"] - time.time()) < 5
