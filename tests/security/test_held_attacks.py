"""The attacks of issue 13 that held, kept here so they keep holding, through the router of
the running platform as an attacker would send them: forged access tokens, spoofed
internal headers, another trader's order, and a race of withdrawals for the same money.
(Reading and cancelling another trader's order is also part of the trader story,
tests/e2e/test_trader_story.py; the verifier's own cases are in
tests/unit/identity/test_identity_keys.py.)"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from mybroker.auth import INTERNAL_TOKEN_HEADER, SESSION_HEADER, USER_HEADER
from subgraphs.identity.keys import SigningKey, load_key_ring
from tests.e2e.test_trader_story import DEPOSIT, PLACE, WITHDRAW, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ME = "{ me { id } }"


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def _claims(platform, user_id: str, *, expired: bool = False) -> dict:
    now = datetime.now(timezone.utc) - (timedelta(hours=1) if expired else timedelta())
    settings = platform.settings
    return {"sub": user_id, "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=15)).timestamp()), "typ": "access", "jti": "forged"}


def forged_tokens(platform, victim: str) -> dict[str, str]:
    ring = load_key_ring(platform.settings)
    real = ring.signing_key
    public_pem = real.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = _claims(platform, victim)
    return {
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": real.kid}),
        # The published public key used as an HMAC secret (the classic RS256/HS256 confusion);
        # PyJWT itself refuses to sign with PEM material, so the token is built by hand.
        "HS256 keyed with the public key": _hs256_by_hand(claims, public_pem, real.kid),
        "a foreign key claiming the real kid": jwt.encode(
            claims, SigningKey.generate().private_key, algorithm="RS256", headers={"kid": real.kid}
        ),
        "an unknown kid": jwt.encode(claims, SigningKey.generate().private_key, algorithm="RS256", headers={"kid": "nope"}),
        "expired, though truly signed": jwt.encode(
            _claims(platform, victim, expired=True), real.private_key, algorithm="RS256", headers={"kid": real.kid}
        ),
    }


def _hs256_by_hand(claims: dict, secret: bytes, kid: str) -> str:
    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = part(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{part(signature)}"


async def test_every_forged_token_is_refused(platform, new_client):
    victim = new_client()
    victim_id = (await sign_up(victim, "victim"))["user"]["id"]
    attacker = new_client()
    for kind, token in forged_tokens(platform, victim_id).items():
        status, body = await attacker.post(ME, token=token)
        assert (status, codes(body)) == (401, ["UNAUTHENTICATED"]), (kind, body)
        assert not (body.get("data") or {}).get("me"), (kind, body)
    # the real token still works: the refusals are about the forgeries
    assert (await victim.execute(ME))["me"]["id"] == victim_id


async def test_internal_headers_sent_to_the_router_are_not_believed(platform, new_client, http):
    victim = new_client()
    victim_id = (await sign_up(victim, "spoofed"))["user"]["id"]
    attacker = new_client()
    attacker_id = (await sign_up(attacker, "spoofer"))["user"]["id"]
    spoof = {USER_HEADER: victim_id, INTERNAL_TOKEN_HEADER: "local-compose-secret-change-me", SESSION_HEADER: "x"}
    async with http.post(platform.router_url, json={"query": ME}, headers=spoof) as response:
        body = await response.json(content_type=None)
    assert not (body.get("data") or {}).get("me"), body  # anonymous: no one's `me`
    headers = {**spoof, "Authorization": f"Bearer {attacker.token}"}
    async with http.post(platform.router_url, json={"query": ME}, headers=headers) as response:
        body = await response.json(content_type=None)
    assert body["data"]["me"]["id"] == attacker_id, body  # the token decides, never the header


async def test_another_traders_order_cannot_be_replaced(platform, new_client):
    owner, attacker = new_client(), new_client()
    await sign_up(owner, "owner")
    await sign_up(attacker, "replacer")
    await owner.execute(DEPOSIT, {"amount": "1000.00"})
    order = (await owner.execute(
        PLACE, {"input": {"ticker": "VALE3", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": "2.00"}}
    ))["placeOrder"]
    replace = "mutation($id: ID!) { replaceOrder(id: $id, quantity: 200, limitPrice: \"3.00\") { id } }"
    assert await attacker.error_code(replace, {"id": order["id"]}) == "FORBIDDEN"


async def test_fifty_withdrawals_of_the_whole_balance_at_once_pay_out_once(platform, new_client):
    trader = new_client()
    await sign_up(trader, "racer")
    await trader.execute(DEPOSIT, {"amount": "100.00"})
    answers = await asyncio.gather(*(trader.post(WITHDRAW, {"amount": "100.00"}) for _ in range(50)))
    won = [body for _status, body in answers if not body.get("errors")]
    refused = [codes(body) for _status, body in answers if body.get("errors")]
    assert len(won) == 1 and won[0]["data"]["withdraw"]["available"] == "0.00", answers
    assert refused == [["INSUFFICIENT_FUNDS"]] * 49, refused
    wallet = (await trader.execute("{ me { wallet { available blocked } } }"))["me"]["wallet"]
    assert wallet == {"available": "0.00", "blocked": "0.00"}
