from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio

from mybroker.auth import JwtVerifier
from mybroker.db import Database
from subgraphs.identity.domain import PasswordHasher
from subgraphs.identity.keys import KeyRing, SigningKey
from subgraphs.identity.service import IdentityService
from subgraphs.identity.tables import metadata
from subgraphs.identity.tokens import AccessTokenIssuer

ISSUER = "test-issuer"
AUDIENCE = "test-audience"
ACCESS_TTL = 600
REFRESH_TTL = 3600
# Cheap scrypt for speed; the production cost is exercised in the domain tests.
FAST_HASHER = PasswordHasher(n=2**8)


class FakeClock:
    def __init__(self) -> None:
        # Near real time: PyJWT checks exp against the real clock.
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def signing_keys() -> list[SigningKey]:
    return [SigningKey.generate(), SigningKey.generate()]


@dataclass
class IdentityEnv:
    db: Database
    service: IdentityService
    clock: FakeClock
    keys: KeyRing

    def verifier(self) -> JwtVerifier:
        verifier = JwtVerifier("http://unused.invalid/jwks.json", issuer=ISSUER, audience=AUDIENCE)
        verifier.load_jwks(self.service.jwks())
        return verifier


@pytest_asyncio.fixture
async def identity(tmp_path, signing_keys) -> IdentityEnv:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}", metadata)
    await db.create_schema()
    keys = KeyRing([signing_keys[0]])
    clock = FakeClock()
    service = IdentityService(
        db,
        keys,
        AccessTokenIssuer(keys, ISSUER, AUDIENCE, ACCESS_TTL),
        refresh_token_ttl=REFRESH_TTL,
        hasher=FAST_HASHER,
        clock=clock,
    )
    yield IdentityEnv(db, service, clock, keys)
    await db.dispose()
