"""Who is calling: JWT verification at the edge, and the identity the router forwards.

The router verifies the access token against identity's JWKS (asymmetric keys, algorithm
pinned, exp/iss/aud checked) and forwards the user id to subgraphs in USER_HEADER,
together with INTERNAL_TOKEN_HEADER. A subgraph trusts USER_HEADER only when the internal
token matches, so a client that reaches a subgraph directly cannot claim to be anyone.
Service-to-service calls (orders -> wallet) carry the same internal token."""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import aiohttp
import jwt

from mybroker.errors import unauthenticated

USER_HEADER = "x-mybroker-user"
INTERNAL_TOKEN_HEADER = "x-mybroker-internal-token"
# The client's address as the router saw it (X-Forwarded-For believed only from the proxies
# the router is configured to trust); believed by subgraphs, like USER_HEADER, only beside
# the internal token. Identity keys its login throttle on it.
CLIENT_ADDRESS_HEADER = "x-mybroker-client-address"
# The caller's session (the access token's `sid`), beside USER_HEADER and believed likewise:
# identity's changePassword keeps this one session and signs out the others.
SESSION_HEADER = "x-mybroker-session"
ALGORITHM = "RS256"

log = logging.getLogger("mybroker.auth")


@dataclass(frozen=True)
class Caller:
    user_id: str | None = None
    session_id: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def require_user(self) -> str:
        if self.user_id is None:
            raise unauthenticated()
        return self.user_id


ANONYMOUS = Caller()


def is_internal(headers: Mapping[str, str], secret: str) -> bool:
    token = headers.get(INTERNAL_TOKEN_HEADER)
    return bool(secret) and token is not None and hmac.compare_digest(token.encode(), secret.encode())


def caller_from_headers(headers: Mapping[str, str], secret: str) -> Caller:
    if not is_internal(headers, secret):
        return ANONYMOUS
    user_id = headers.get(USER_HEADER) or None
    return Caller(user_id, (headers.get(SESSION_HEADER) or None) if user_id else None)


def client_address_from_headers(headers: Mapping[str, str], secret: str) -> str | None:
    if not is_internal(headers, secret):
        return None
    return headers.get(CLIENT_ADDRESS_HEADER) or None


def internal_headers(
    secret: str, user_id: str | None = None, client_address: str | None = None, session_id: str | None = None
) -> dict[str, str]:
    headers = {INTERNAL_TOKEN_HEADER: secret}
    if user_id:
        headers[USER_HEADER] = user_id
        if session_id:
            headers[SESSION_HEADER] = session_id
    if client_address:
        headers[CLIENT_ADDRESS_HEADER] = client_address
    return headers


class SessionRevocations:
    """The sessions identity has signed out (their `sid`s), as the router sees them.

    Asked only when a signed-in request arrives, and refetched from identity's internal
    endpoint when the copy is older than `max_age` (1 s): a revocation takes effect within
    a second, and a busy router costs identity one small GET a second, not one per request.
    One fetch at a time (single flight); requests that find the copy stale wait for it.
    If identity cannot be reached, the last copy is kept and used (logged): an identity
    outage must not sign every trader out, and tokens still expire (docs/design.md)."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[], "asyncio.Future[list[str]]"] | None = None,
    ):
        self.url = url
        self.secret = secret
        self.max_age = max_age
        self.clock = clock
        self._fetch = fetch or self._fetch_http
        self._revoked: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self._failing = False

    async def _fetch_http(self) -> list[str]:
        async with aiohttp.ClientSession() as session:
            async with session.get(
                self.url, headers=internal_headers(self.secret), timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                response.raise_for_status()
                return list((await response.json())["revoked"])

    def _fresh(self) -> bool:
        return self._fetched_at is not None and self.clock() - self._fetched_at < self.max_age

    async def is_revoked(self, session_id: str) -> bool:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():  # another request may have refetched meanwhile
                    await self._refetch()
        return session_id in self._revoked

    async def _refetch(self) -> None:
        try:
            self._revoked = frozenset(await self._fetch())
            if self._failing:
                log.info("session revocations reachable again at %s", self.url)
            self._failing = False
        except (TimeoutError, aiohttp.ClientError, KeyError, ValueError) as error:
            if not self._failing:  # one line per outage, not one per second
                log.warning("cannot fetch session revocations from %s (%r); using the last list", self.url, error)
            self._failing = True
        # Also after a failure: the next attempt comes a max_age later, not on every request.
        self._fetched_at = self.clock()


def session_revocations(settings) -> SessionRevocations:
    """The revocation list of the identity service the settings name (its internal API)."""
    return SessionRevocations(settings.url("identity") + "/internal/sessions/revoked", settings.internal_secret)


class JwtVerifier:
    """Verifies access tokens with keys from a JWKS URL, refetching on an unknown `kid`
    (key rotation) at most every `min_refresh` seconds; with `revocations`, a token of a
    signed-out session (its `sid` claim) is refused too."""

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        min_refresh: float = 30.0,
        revocations: SessionRevocations | None = None,
    ):
        self.revocations = revocations
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.min_refresh = min_refresh
        self._keys: dict[str, object] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(self.jwks_url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                response.raise_for_status()
                document = await response.json()
        self.load_jwks(document)

    def load_jwks(self, document: dict) -> None:
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("kty") == "RSA" and entry.get("kid"):
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _key_for(self, kid: str):
        if kid not in self._keys:
            async with self._lock:
                stale = time.monotonic() - self._fetched_at > self.min_refresh
                if kid not in self._keys and (stale or not self._keys):
                    try:
                        await self.refresh()
                    except (TimeoutError, aiohttp.ClientError):
                        pass
        return self._keys.get(kid)

    async def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthenticated("The access token is malformed.") from None
        if header.get("alg") != ALGORITHM:
            raise unauthenticated("The access token is not signed with the expected algorithm.")
        key = await self._key_for(str(header.get("kid", "")))
        if key is None:
            raise unauthenticated("The access token was signed with an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("The access token has expired.") from None
        except jwt.PyJWTError:
            raise unauthenticated("The access token is invalid.") from None
        if claims.get("typ") != "access":
            raise unauthenticated("This is not an access token.")
        session_id = claims.get("sid")
        if session_id and self.revocations is not None and await self.revocations.is_revoked(str(session_id)):
            raise unauthenticated("This session has been signed out; sign in again.")
        return Caller(str(claims["sub"]), str(session_id) if session_id else None)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("The Authorization header must be 'Bearer <accessToken>'.")
    return token.strip()
