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

    def issue(self, user_id: str, now: datetime, session_id: str | None = None) -> str:
        """`sid` names the session (the refresh family): signing it out makes the router
        refuse this token at once (mybroker.auth.SessionRevocations)."""
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
        if session_id:
            claims["sid"] = session_id
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
