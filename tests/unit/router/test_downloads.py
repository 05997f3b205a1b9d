"""Signed download links: what a subgraph signs (mybroker/download_links.py) is what the
router verifies (router/downloads.py), the two spelled apart since neither may import the
other; a tampered, foreign or expired link is refused with a plain sentence; a link sent
with another user's credentials is refused; a good one is fetched from the owning
subgraph's internal API as the link's user, and relayed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from starlette.applications import Starlette
from starlette.routing import Route

import mybroker.download_links as signing_side
import router.downloads as router_side
from mybroker.auth import Caller as SubgraphCaller
from router.auth import AuthenticationError, Caller

SECRET = "internal-s3cret-of-the-test-platform-0123456789"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)


def links(secret: str = SECRET, at: datetime | None = None, seconds: int = 300) -> signing_side.DownloadLinks:
    moment = at or datetime.now(timezone.utc)
    return signing_side.DownloadLinks(secret, "wallet", seconds=seconds, clock=lambda: moment)


def token_of(link: str) -> str:
    assert link.startswith("/downloads/")
    return link.removeprefix("/downloads/")


def a_link(user: str = "ana", **kwargs) -> str:
    return links(**kwargs).link(SubgraphCaller(user, "sid-1"), "statement", "pdf", {"month": "2026-12"})


def test_the_router_verifies_what_the_subgraphs_sign():
    assert (signing_side.AUDIENCE, signing_side.ALGORITHM) == (router_side.AUDIENCE, router_side.ALGORITHM)
    assert signing_side.link_key(SECRET) == router_side.link_key(SECRET)
    grant = router_side.verify_link(token_of(a_link()), SECRET)
    assert grant == router_side.DownloadGrant("ana", "sid-1", "wallet", "statement", "pdf", {"month": "2026-12"})


def test_the_key_is_not_the_internal_secret_itself():
    # A token signed with the bare secret (anything else the secret might sign) is no link.
    claims = jwt.decode(token_of(a_link()), options={"verify_signature": False})
    forged = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(router_side.LinkRefused) as refused:
        router_side.verify_link(forged, SECRET)
    assert refused.value.status == 403


def tampered(token: str) -> str:
    """The same token with its payload claiming another user (the signature kept)."""
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False}) | {"sub": "bob"}
    other = jwt.encode(claims, "a key of the attacker, long enough for HS256", algorithm="HS256").split(".")[1]
    return ".".join((header, other, signature))


@pytest.mark.parametrize("make, status", [
    (lambda: tampered(token_of(a_link())), 403),
    (lambda: token_of(a_link(secret="another platform's secret")), 403),
    (lambda: token_of(a_link(at=datetime.now(timezone.utc) - timedelta(minutes=6))), 410),
    (lambda: "not-a-token", 403),
    (lambda: jwt.encode({"sub": "ana", "aud": "mybroker-download", "exp": 2**40}, key=None, algorithm="none"), 403),
    (lambda: jwt.encode({"sub": "ana", "aud": "someone-else", "exp": 2**40, "svc": "wallet", "doc": "d", "fmt": "csv"},
                        router_side.link_key(SECRET), algorithm="HS256"), 403),
    (lambda: jwt.encode({"sub": "ana", "aud": "mybroker-download", "exp": 2**40, "svc": "wallet", "doc": "d", "fmt": "csv",
                         "prm": {"month": 12}}, router_side.link_key(SECRET), algorithm="HS256"), 403),
])
def test_a_bad_link_is_refused_and_an_expired_one_is_gone(make, status):
    with pytest.raises(router_side.LinkRefused) as refused:
        router_side.verify_link(make(), SECRET)
    assert refused.value.status == status
    assert refused.value.message.endswith(".)")  # a sentence, pt-BR then English


def test_an_expired_link_that_is_also_forged_is_forged():
    old = token_of(a_link(secret="not ours", at=datetime.now(timezone.utc) - timedelta(hours=1)))
    with pytest.raises(router_side.LinkRefused) as refused:
        router_side.verify_link(old, SECRET)
    assert refused.value.status == 403


def test_a_link_needs_a_signed_in_caller_and_a_secret():
    from mybroker.errors import DomainError

    with pytest.raises(DomainError):
        links().link(SubgraphCaller(), "statement", "csv", {})
    with pytest.raises(RuntimeError):
        links(secret="").link(SubgraphCaller("ana"), "statement", "csv", {})
    with pytest.raises(router_side.LinkRefused):
        router_side.verify_link(token_of(a_link()), "")


def test_the_document_is_asked_for_beside_the_subgraphs_graphql_path():
    grant = router_side.DownloadGrant("ana", None, "wallet", "statement", "csv", {"month": "2026-12"})
    assert router_side.documents_url("http://127.0.0.1:4002/graphql", grant) == (
        "http://127.0.0.1:4002/internal/documents/statement?format=csv&month=2026-12")
    assert router_side.documents_url("https://wallet.internal/api/graphql", grant).startswith(
        "https://wallet.internal/api/internal/documents/statement?")


# ------------------------------------------------------------ the endpoint, over a fake subgraph


class Tokens:
    """An Authenticator: `Bearer <user>` is that user; `Bearer bad` is refused."""

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        value = headers.get("authorization")
        if value is None:
            return Caller()
        user = value.removeprefix("Bearer ")
        if user == "bad":
            raise AuthenticationError("bad token")
        return Caller(user)


async def asgi_get(app: Any, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 4000),
    }
    answer: dict[str, Any] = {"body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]


@pytest.fixture
async def subgraph():
    """A wallet that answers its internal document endpoint, recording what it was asked."""
    asked: list[dict[str, Any]] = []

    async def document(request: web.Request) -> web.Response:
        asked.append({"path": request.path, "query": dict(request.query), "headers": dict(request.headers)})
        if request.query.get("month") == "2099-01":
            return web.json_response({"code": "BAD_USER_INPUT", "message": "The month 2099-01 has not begun."}, status=422)
        return web.Response(body=b"%PDF-fake", content_type="application/pdf",
                            headers={"content-disposition": 'attachment; filename="extrato-2026-12.pdf"', "x-secret": "no"})

    server = TestServer(web.Application())
    server.app.router.add_get("/internal/documents/{name}", document)
    await server.start_server()
    yield str(server.make_url("/graphql")), asked
    await server.close()


@pytest.fixture
async def endpoint(subgraph):
    url, asked = subgraph
    downloads = router_side.Downloads({"wallet": url}, internal_secret=SECRET, authenticator=Tokens())
    app = Starlette(routes=[Route("/downloads/{token}", downloads.get)])
    yield app, asked
    await downloads.close()


async def test_a_good_link_is_fetched_from_the_owner_as_its_user_and_relayed(endpoint):
    app, asked = endpoint
    status, headers, body = await asgi_get(app, a_link())
    assert (status, body) == (200, b"%PDF-fake")
    assert headers["content-type"] == "application/pdf" and headers["cache-control"] == "no-store"
    assert headers["content-disposition"] == 'attachment; filename="extrato-2026-12.pdf"' and "x-secret" not in headers
    [call] = asked
    assert call["path"] == "/internal/documents/statement" and call["query"] == {"format": "pdf", "month": "2026-12"}
    assert call["headers"]["x-mybroker-internal-token"] == SECRET and call["headers"]["x-mybroker-user"] == "ana"
    # Its owner's credentials beside it change nothing.
    assert (await asgi_get(app, a_link(), {"authorization": "Bearer ana"}))[0] == 200


async def test_another_users_credentials_on_a_link_are_refused(endpoint):
    app, asked = endpoint
    status, headers, body = await asgi_get(app, a_link(), {"authorization": "Bearer bob"})
    assert status == 403 and "outro usuário" in body.decode() and headers["content-type"].startswith("text/plain")
    assert (await asgi_get(app, a_link(), {"authorization": "Bearer bad"}))[0] == 403
    assert asked == []  # refused before any subgraph was asked


async def test_bad_links_never_reach_a_subgraph(endpoint):
    app, asked = endpoint
    expired = a_link(at=datetime.now(timezone.utc) - timedelta(minutes=10))
    status, _, body = await asgi_get(app, expired)
    assert status == 410 and "expirou" in body.decode()
    assert (await asgi_get(app, "/downloads/" + tampered(token_of(a_link()))))[0] == 403
    unknown = signing_side.DownloadLinks(SECRET, "nowhere").link(SubgraphCaller("ana"), "x", "csv", {})
    assert (await asgi_get(app, unknown))[0] == 403
    assert asked == []


async def test_the_owners_refusal_is_its_sentence(endpoint):
    app, _ = endpoint
    link = links().link(SubgraphCaller("ana"), "statement", "csv", {"month": "2099-01"})
    status, headers, body = await asgi_get(app, link)
    assert status == 422 and body.decode().strip() == "The month 2099-01 has not begun."


async def test_a_link_of_a_session_that_signed_out_is_refused(subgraph):
    url, asked = subgraph
    signed_out = {"sid-1"}

    async def revoked(session_id: str) -> bool:
        return session_id in signed_out

    downloads = router_side.Downloads({"wallet": url}, internal_secret=SECRET, session_revoked=revoked)
    app = Starlette(routes=[Route("/downloads/{token}", downloads.get)])
    try:
        status, _, body = await asgi_get(app, a_link())
        assert status == 403 and "encerrada" in body.decode() and asked == []
        signed_out.clear()
        assert (await asgi_get(app, a_link()))[0] == 200
    finally:
        await downloads.close()
