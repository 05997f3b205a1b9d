"""Short-lived signed download links: what a subgraph hands its owner for a document
(a statement's CSV, a brokerage note's PDF), served by the router at GET /downloads/<token>
(router/downloads.py, docs/design.md "Downloads").

A browser sends no bearer token on a plain link, so the link carries its own proof: a
JWT (HS256) that binds the user, the session, the service that owns the document, the
document, its format and parameters, and an expiry a few minutes away. It is signed with
a key derived from the internal secret the router and the subgraphs already share (a key
of its own, so a download token can never pass for anything else signed with the
secret). The router verifies it, then fetches the document from the owning subgraph's
internal API as that user; a browser never reaches a subgraph.

The router cannot import this module (it stands alone); it verifies the same standard
JWT with the same derivation, and tests/unit/router/test_downloads.py holds the two
equal."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable, Mapping

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from mybroker.auth import Caller, caller_from_headers
from mybroker.service import internal_api

LINK_PREFIX = "/downloads/"
AUDIENCE = "mybroker-download"
ALGORITHM = "HS256"
# Long enough to click a link just asked for, short enough that a link copied into a
# chat or a log is soon worth nothing.
LINK_SECONDS = 300
_KEY_LABEL = b"mybroker download links v1"


@dataclass(frozen=True)
class Document:
    """A file for its owner: its bytes, media type and the name to save it as."""

    content: bytes
    media_type: str
    filename: str


# (caller, document, format, params) -> the document, or None when there is no such one.
DocumentMaker = Callable[[Caller, str, str, dict[str, str]], Awaitable["Document | None"]]


def link_key(secret: str) -> bytes:
    """The download links' signing key, derived from the internal secret."""
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class DownloadLinks:
    """Signs the links of one service's documents."""

    secret: str = field(repr=False)
    service: str
    seconds: int = LINK_SECONDS
    clock: Callable[[], datetime] = _utc_now

    def link(self, caller: Caller, document: str, format: str, params: Mapping[str, str]) -> str:
        """/downloads/<token> for the caller's `document` in `format` with `params`."""
        user_id = caller.require_user()
        if not self.secret:
            raise RuntimeError("download links need the internal secret (MYBROKER_INTERNAL_SECRET)")
        now = self.clock()
        claims = {
            "aud": AUDIENCE,
            "sub": user_id,
            "sid": caller.session_id,
            "svc": self.service,
            "doc": document,
            "fmt": format,
            "prm": dict(params),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.seconds)).timestamp()),
        }
        return LINK_PREFIX + jwt.encode(claims, link_key(self.secret), algorithm=ALGORITHM)


def documents_router(secret: str, make: DocumentMaker) -> APIRouter:
    """GET /internal/documents/{document}?format=...&<params>: what the router fetches when a
    download link is followed, as the link's user (the internal token and the user header,
    like every request the router makes). A DomainError is the usual 422 {"code", "message"};
    no such document is a 404 with a sentence the router shows."""
    router = internal_api(secret)

    @router.get("/documents/{document}")
    async def document(document: str, request: Request) -> Response:
        caller = caller_from_headers(request.headers, secret)
        params = dict(request.query_params)
        format = params.pop("format", "")
        found = await make(caller, document, format, params)
        if found is None:
            return JSONResponse(
                {"code": "BAD_USER_INPUT", "message": f"There is no {document} as {format or 'this format'} to download."}, status_code=404
            )
        return Response(
            found.content,
            media_type=found.media_type,
            headers={"content-disposition": f'attachment; filename="{found.filename}"', "cache-control": "no-store"},
        )

    return router
