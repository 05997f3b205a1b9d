"""GET /downloads/<token>: a document (a statement's CSV, a brokerage note's PDF) fetched for
the link's owner from the subgraph that owns it (docs/design.md, "Downloads").

A subgraph hands its owner a short-lived link: an HS256 JWT signed with a key derived from
the internal secret, binding the user, the session, the owning service, the document, its
format and parameters, and an expiry. Here the link is verified (a tampered, malformed or
foreign one is 403, an expired one 410, each with a plain sentence); a link of a session
that has signed out is 403; when the request also carries credentials they must be the
link's user's (another user's link is 403); then the
document is fetched from the owning subgraph's internal API with the internal token and the
link's user, exactly as every other request the router sends, and relayed with
`Cache-Control: no-store`. A browser never reaches a subgraph, and the router needs to know
nothing of the documents themselves: a new one needs no change here.

The signing side is the kernel's mybroker/download_links.py; the router stands alone and
imports none of it, so the claims and the key derivation are spelled in both places and a
test holds them equal (tests/unit/router/test_downloads.py)."""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import jwt
import orjson
from starlette.requests import Request
from starlette.responses import Response

from router.auth import AuthenticationError, Authenticator, Caller
from router.identity_headers import client_address, internal_headers
from router.rate_limit import RateLimited

log = logging.getLogger("mybroker.router.downloads")

AUDIENCE = "mybroker-download"
ALGORITHM = "HS256"
_KEY_LABEL = b"mybroker download links v1"
FETCH_TIMEOUT_SECONDS = 30.0
# Headers of the owning subgraph's answer that reach the browser; nothing else does.
RELAYED_HEADERS = ("content-type", "content-disposition")

INVALID = "Este link de download não é válido. (This download link is not valid.)"
EXPIRED = "Este link de download expirou: peça um novo. (This download link has expired; ask for a new one.)"
NOT_YOURS = "Este link de download é de outro usuário. (This download link belongs to another user.)"
SIGNED_OUT = "A sessão que pediu este link foi encerrada: entre de novo. (The session that asked for this link has signed out.)"
BAD_CREDENTIALS = "As credenciais enviadas não são válidas. (The credentials sent are not valid.)"
UNAVAILABLE = "O documento não pôde ser gerado agora; tente de novo. (The document could not be made now; try again.)"
RATE_LIMITED = "Muitos pedidos; espere um pouco. (Too many requests; wait a moment.)"


def link_key(secret: str) -> bytes:
    """The links' verification key: the kernel's derivation (mybroker.download_links.link_key)."""
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class DownloadGrant:
    """What a verified link allows: one document of one user, from one service."""

    user_id: str
    session_id: str | None
    service: str
    document: str
    format: str
    params: dict[str, str]


class LinkRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def verify_link(token: str, secret: str) -> DownloadGrant:
    """The grant a link's token carries, or LinkRefused: 410 expired, 403 anything else."""
    if not secret:
        raise LinkRefused(403, INVALID)  # no secret, no link is ours
    try:
        claims = jwt.decode(
            token, link_key(secret), algorithms=[ALGORITHM], audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise LinkRefused(410, EXPIRED) from None
    except jwt.InvalidTokenError:
        raise LinkRefused(403, INVALID) from None
    fields = [claims.get(name) for name in ("sub", "svc", "doc", "fmt")]
    params = claims.get("prm") or {}
    session = claims.get("sid")
    texts = [value for value in fields if isinstance(value, str) and value]
    if len(texts) != len(fields) or not isinstance(params, dict) or not isinstance(session, (str, type(None))):
        raise LinkRefused(403, INVALID)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        raise LinkRefused(403, INVALID)
    user_id, service, document, format = texts
    return DownloadGrant(user_id, session, service, document, format, dict(params))


def documents_url(graphql_url: str, grant: DownloadGrant) -> str:
    """The owning subgraph's internal document endpoint, beside its GraphQL path."""
    parts = urlsplit(graphql_url)
    base = parts.path[: -len("/graphql")] if parts.path.endswith("/graphql") else parts.path.rstrip("/")
    query = urlencode({"format": grant.format, **grant.params})
    return urlunsplit((parts.scheme, parts.netloc, f"{base}/internal/documents/{grant.document}", query, ""))


def plain(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain; charset=utf-8",
                    headers={"cache-control": "no-store", **(headers or {})})


class Downloads:
    """The /downloads/<token> endpoint over the subgraphs at `urls` (name -> GraphQL URL)."""

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        internal_secret: str,
        authenticator: Authenticator | None = None,
        session: Callable[[], aiohttp.ClientSession] | None = None,
        admit: Callable[[Caller, str | None], Awaitable[RateLimited | None]] | None = None,
        trusted_proxies: frozenset[str] = frozenset(),
        session_revoked: Callable[[str], Awaitable[bool]] | None = None,
    ):
        """`session_revoked`: whether a sign-in session (a link's `sid`) has signed out, so
        signing out ends the session's links too; None: not asked."""
        self.urls = dict(urls)
        self.secret = internal_secret
        self.authenticator = authenticator
        self._shared_session = session
        self._own_session: aiohttp.ClientSession | None = None
        self.admit = admit
        self.trusted_proxies = trusted_proxies
        self.session_revoked = session_revoked

    def _session(self) -> aiohttp.ClientSession:
        if self._shared_session is not None:
            return self._shared_session()
        if self._own_session is None or self._own_session.closed:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    async def close(self) -> None:
        if self._own_session is not None:
            await self._own_session.close()

    async def get(self, request: Request) -> Response:
        try:
            grant = verify_link(request.path_params["token"], self.secret)
            await self._check_caller(request, grant)
        except LinkRefused as refused:
            return plain(refused.status, refused.message)
        graphql_url = self.urls.get(grant.service)
        if graphql_url is None:
            return plain(403, INVALID)
        peer = request.client.host if request.client else None
        address = client_address(peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        if self.admit is not None:
            limited = await self.admit(Caller(grant.user_id, grant.session_id), address)
            if limited is not None:
                return plain(429, RATE_LIMITED, limited.headers())
        headers = internal_headers(self.secret, grant.user_id, address, grant.session_id)
        try:
            async with self._session().get(
                documents_url(graphql_url, grant), headers=headers, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
            ) as answer:
                body = await answer.read()
                status = answer.status
                relayed = {name: answer.headers[name] for name in RELAYED_HEADERS if name in answer.headers}
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("download of %s from %s failed: %r", grant.document, grant.service, error)
            return plain(503, UNAVAILABLE)
        if status == 200:
            return Response(body, status_code=200, headers={
                **relayed, "cache-control": "no-store", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"})
        return self._refusal(status, body, grant)

    async def _check_caller(self, request: Request, grant: DownloadGrant) -> None:
        """A link is its own proof while its session lasts; credentials sent beside it must
        be its user's."""
        if grant.session_id is not None and self.session_revoked is not None and await self.session_revoked(grant.session_id):
            raise LinkRefused(403, SIGNED_OUT)
        if self.authenticator is None or "authorization" not in request.headers:
            return
        try:
            caller = await self.authenticator.authenticate(request.headers)
        except AuthenticationError:
            raise LinkRefused(403, BAD_CREDENTIALS) from None
        if caller.user_id is not None and caller.user_id != grant.user_id:
            raise LinkRefused(403, NOT_YOURS)

    @staticmethod
    def _refusal(status: int, body: bytes, grant: DownloadGrant) -> Response:
        """The owning subgraph said no: its sentence for what the link asks (a month not
        begun, a day without a note), anything else as unavailable."""
        message = _message(body)
        if status in (404, 422) and message:
            return plain(404 if status == 404 else 422, message)
        log.warning("download of %s from %s answered HTTP %s", grant.document, grant.service, status)
        return plain(503 if status >= 500 else 502, UNAVAILABLE)


def _message(body: bytes) -> str | None:
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    message = payload.get("message") if isinstance(payload, dict) else None
    return message if isinstance(message, str) and message else None
