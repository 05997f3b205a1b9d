"""Access tokens: short-lived RS256 JWTs that the router verifies against identity's JWKS
(mybroker.auth.JwtVerifier checks exactly these claims)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from mybroker.auth import ALGORITHM
from subgraphs.identity.keys import KeyRing

ACCESS = "access"


@dataclass(frozen=True)
class AccessTokenIssuer:
    keys: KeyRing
    issuer: str
    audience: str
    ttl_seconds: int

    def issue(self, user_id: str, now: datetime) -> str:
        key = self.keys.signing_key
        claims = {
            "sub": user_id,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
            "typ": ACCESS,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
