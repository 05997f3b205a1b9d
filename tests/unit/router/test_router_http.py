"""The HTTP edge, served by uvicorn on a free port and called with aiohttp: POST/GET,
GraphiQL, health, request errors with their codes, introspection, auth at the edge."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.parse

import aiohttp
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import build_client_schema, get_introspection_query
from .router_fixture_subgraphs import SECRET, InProcessClient

from mybroker.auth import JwtVerifier
from launch.router_app import JwtAuthenticator
from router.http import RouterConfig, create_router_app
from router.limits import OperationLimits

ISSUER, AUDIENCE, KID = "test-identity", "mybroker", "test-key-1"


@contextlib.asynccontextmanager
async def serve(app):
    """The app on 127.0.0.1 at a port the OS picked; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key():
    return rsa_key()


def verifier_for(key) -> JwtVerifier:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    verifier = JwtVerifier("http://127.0.0.1:9/jwks.json", issuer=ISSUER, audience=AUDIENCE, min_refresh=3600)
    verifier.load_jwks({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]})
    return verifier


def authenticator_for(key) -> JwtAuthenticator:
    """The platform's authenticator (launch/router_app.py) over a verifier of `key`'s tokens."""
    return JwtAuthenticator(verifier_for(key))


def token(key, *, sub="42", ttl=300, kid=KID, typ="access", audience=AUDIENCE) -> str:
    now = int(time.time())
    claims = {"sub": sub, "iss": ISSUER, "aud": audience, "iat": now, "exp": now + ttl, "typ": typ}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def router_url(supergraph, store, signing_key):
    config = RouterConfig(
        internal_secret=SECRET,
        authenticator=authenticator_for(signing_key),
        client=InProcessClient(store),
        limits=OperationLimits(max_depth=8, max_aliases=5, max_root_fields=6),
    )
    async with serve(create_router_app(supergraph, config)) as url:
        yield url


async def post(url: str, payload, headers: dict | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/graphql", json=payload, headers=headers or {}) as response:
            return response.status, await response.json()


async def get(url: str, params: dict, headers: dict | None = None) -> tuple[int, dict | str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/graphql?" + urllib.parse.urlencode(params), headers=headers or {}) as response:
            body = await (response.json() if response.content_type == "application/json" else response.text())
            return response.status, body, response


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


async def test_post_query(router_url):
    status, body = await post(router_url, {"query": "query Q($n: Int) { topProducts(first: $n) { name inStock } }", "variables": {"n": 1}, "operationName": "Q"})
    assert status == 200
    assert body == {"data": {"topProducts": [{"name": "Structure and Interpretation", "inStock": True}]}}


async def test_get_query_and_refused_get_mutation(router_url):
    preflighted = {"apollo-require-preflight": "true"}  # a GET needs it (CSRF prevention)
    status, body, _ = await get(router_url, {"query": "query($n: Int) { topProducts(first: $n) { upc } }", "variables": '{"n": 2}'}, preflighted)
    assert status == 200 and body == {"data": {"topProducts": [{"upc": "1"}, {"upc": "2"}]}}
    status, body, response = await get(router_url, {"query": 'mutation { renameUser(id: "1", name: "X") { name } }'}, preflighted)
    assert status == 405
    assert response.headers["allow"] == "POST"
    assert "POST" in body["errors"][0]["message"]


async def test_graphiql_for_browsers_and_health(router_url):
    status, page, response = await get(router_url, {}, {"accept": "text/html,application/xhtml+xml"})
    assert status == 200 and response.content_type == "text/html"
    assert "GraphiQL" in page  # the playground, or what to run to build it (test_playground_page.py)
    async with aiohttp.ClientSession() as session:
        async with session.get(router_url + "/health") as response:
            assert response.status == 200 and await response.json() == {"status": "ok"}


STRICT = {"accept": "application/graphql-response+json"}


@pytest.mark.parametrize(
    "payload, code, as_json",
    [
        # GraphQL request errors of a well-formed request: 200 under application/json.
        ({"query": "{ me { name "}, "GRAPHQL_PARSE_FAILED", 200),
        ({"query": "{ me { nope } }"}, "GRAPHQL_VALIDATION_FAILED", 200),
        ({"query": "query($x: Int) { me { name } }"}, "GRAPHQL_VALIDATION_FAILED", 200),
        ({"query": "{ furnitureByMaterial(material: GOLD) { name } }"}, "BAD_USER_INPUT", 200),
        ({"query": '{ topProducts(first: "two") { name } }'}, "BAD_USER_INPUT", 200),
        ({"query": "query($m: Material!) { furnitureByMaterial(material: $m) { name } }", "variables": {"m": "GOLD"}}, "BAD_USER_INPUT", 200),
        ({"query": "query($m: Material!) { furnitureByMaterial(material: $m) { name } }"}, "BAD_USER_INPUT", 200),
        ({"query": "query($n: Int) { topProducts(first: $n) { name } }", "variables": {"n": 1.5}}, "BAD_USER_INPUT", 200),
        # No query at all is not a GraphQL request; the limits and the transport are the router's refusals.
        ({"query": ""}, "GRAPHQL_PARSE_FAILED", 400),
        ({"query": "{ a: me { name } b: me { name } c: me { name } d: me { name } e: me { name } f: me { name } }"}, "OPERATION_TOO_COMPLEX", 400),
        ({"query": "{ me { reviews { author { reviews { author { reviews { author { reviews { body } } } } } } } } }"}, "OPERATION_TOO_COMPLEX", 400),
        ({"query": "subscription { reviewAdded { body } }"}, "GRAPHQL_VALIDATION_FAILED", 400),
    ],
)
async def test_request_errors_have_codes_and_no_data(router_url, payload, code, as_json):
    """The same errors under both media types: only the status differs (400 under
    application/graphql-response+json, GraphQL over HTTP's "Status Codes")."""
    for headers, expected in ((None, as_json), ({"accept": "application/json"}, as_json), (STRICT, 400)):
        status, body = await post(router_url, payload, headers)
        assert status == expected, (headers, body)
        assert "data" not in body
        assert codes(body) == [code] * len(body["errors"])
        assert all(e["message"] for e in body["errors"])


async def test_malformed_bodies_are_refused(router_url):
    async with aiohttp.ClientSession() as session:
        async with session.post(router_url + "/graphql", data=b"{not json", headers={"content-type": "application/json"}) as response:
            assert response.status == 400
            assert codes(await response.json()) == ["GRAPHQL_PARSE_FAILED"]
    status, body = await post(router_url, [{"query": "{ me { name } }"}])
    assert status == 400
    status, body = await post(router_url, {"query": "{ me { name } }", "variables": [1]})
    assert status == 400 and codes(body) == ["BAD_USER_INPUT"]


async def test_a_post_body_not_declared_json_is_refused_with_415(router_url):
    """GraphQL over HTTP: a POST without Content-Type gets a 4xx. Past the CSRF check (its
    header sent), neither that nor a type other than application/json is read as JSON."""
    query = b'{"query": "{ me { name } }"}'
    preflighted = {"apollo-require-preflight": "1"}
    async with aiohttp.ClientSession() as session:
        for headers, said in (({}, "it has no Content-Type"), ({"content-type": "text/plain;charset=UTF-8"}, "'text/plain;charset=UTF-8'")):
            async with session.post(
                router_url + "/graphql", data=query, headers={**preflighted, **headers}, skip_auto_headers=["content-type"]
            ) as response:
                body = await response.json()
                assert response.status == 415 and codes(body) == ["BAD_USER_INPUT"] and said in body["errors"][0]["message"]
            # Without the CSRF header it is a simple request: the CSRF refusal, as before.
            async with session.post(router_url + "/graphql", data=query, headers=headers, skip_auto_headers=["content-type"]) as response:
                body = await response.json()
                assert response.status == 400 and "Cross-Site Request Forgery" in body["errors"][0]["message"]
        async with session.post(router_url + "/graphql", data=query, headers={"content-type": "application/json; charset=utf-8"}) as response:
            assert response.status == 200


async def test_an_accept_header_allowing_no_answer_is_refused_with_406(router_url):
    status, body = await post(router_url, {"query": "{ me { name } }"}, {"accept": "application/xml"})
    assert status == 406 and codes(body) == ["BAD_USER_INPUT"] and "data" not in body
    status, body = await post(router_url, {"query": "{ me { name } }"}, {"accept": "application/xml, application/json;q=0.1"})
    assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})


async def test_full_introspection_builds_the_api_schema(router_url, supergraph):
    status, body = await post(router_url, {"query": get_introspection_query(descriptions=True)})
    assert status == 200 and "errors" not in body
    schema = build_client_schema(body["data"])
    assert set(schema.type_map["Book"].fields) == set(supergraph.api_schema.type_map["Book"].fields)
    assert schema.subscription_type is not None and "reviewAdded" in schema.subscription_type.fields
    assert "_entities" not in schema.query_type.fields


async def test_query_plan_on_request(router_url):
    status, body = await post(router_url, {"query": "{ me { reviews { body } } }"}, {"Apollo-Query-Plan-Experimental": "1"})
    assert status == 200
    assert body["extensions"]["queryPlan"].startswith("QueryPlan {\n  Sequence {")
    status, body = await post(router_url, {"query": "{ me { name } }"})
    assert "extensions" not in body


# ---------------------------------------------------------------- auth at the edge


async def test_subgraphs_see_the_user_only_with_a_valid_token(router_url, signing_key):
    status, body = await post(router_url, {"query": "{ whoami }"})
    assert (status, body) == (200, {"data": {"whoami": None}})
    status, body = await post(router_url, {"query": "{ whoami }"}, {"Authorization": f"Bearer {token(signing_key, sub='user-7')}"})
    assert (status, body) == (200, {"data": {"whoami": "user-7"}})


@pytest.mark.parametrize(
    "make_header",
    [
        lambda key: f"Bearer {token(rsa_key(), sub='intruder')}",  # forged: someone else's key, our kid
        lambda key: f"Bearer {token(key, ttl=-60)}",  # expired
        lambda key: f"Bearer {token(key, typ='refresh')}",  # not an access token
        lambda key: f"Bearer {token(key, audience='elsewhere')}",
        lambda key: "Bearer not-a-jwt",
        lambda key: "Basic dXNlcjpwYXNz",
    ],
)
async def test_bad_tokens_get_401_unauthenticated(router_url, signing_key, make_header):
    status, body = await post(router_url, {"query": "{ whoami }"}, {"Authorization": make_header(signing_key)})
    assert status == 401
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "data" not in body


async def test_every_subgraph_request_carries_the_internal_token(supergraph, store, signing_key):
    client = InProcessClient(store)
    config = RouterConfig(internal_secret=SECRET, authenticator=authenticator_for(signing_key), client=client)
    async with serve(create_router_app(supergraph, config)) as url:
        await post(url, {"query": "{ me { reviews { body } } }"}, {"Authorization": f"Bearer {token(signing_key, sub='9')}"})
        await post(url, {"query": "{ warehouseCount }"})
    headers = [h for _, _, h in client.calls]
    # The client's address too (the peer: no trusted proxies here), for identity's login throttle.
    peer = {"x-mybroker-client-address": "127.0.0.1"}
    assert headers == [
        {"x-mybroker-internal-token": SECRET, "x-mybroker-user": "9", **peer},
        {"x-mybroker-internal-token": SECRET, "x-mybroker-user": "9", **peer},
        {"x-mybroker-internal-token": SECRET, **peer},
    ]


async def test_forwarded_for_is_believed_only_from_trusted_proxies(supergraph, store):
    for trusted, expected in ((frozenset(), "127.0.0.1"), (frozenset({"127.0.0.1"}), "198.51.100.7")):
        client = InProcessClient(store)
        config = RouterConfig(internal_secret=SECRET, client=client, trusted_proxies=trusted)
        async with serve(create_router_app(supergraph, config)) as url:
            await post(url, {"query": "{ warehouseCount }"}, {"X-Forwarded-For": "198.51.100.7"})
        assert [h["x-mybroker-client-address"] for _, _, h in client.calls] == [expected]


async def test_real_http_subgraph_client_against_a_served_subgraph(supergraph, store):
    """The production client (pooled aiohttp) against a subgraph served over HTTP, and an
    unreachable one reported by name."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .router_fixture_subgraphs import SCHEMAS

    async def accounts_endpoint(request: Request):
        payload = await request.json()
        result = await SCHEMAS["accounts"].execute(
            payload["query"], variable_values=payload.get("variables"), context_value={"store": store, "headers": request.headers}
        )
        return JSONResponse({"data": result.data})

    subgraph = Starlette(routes=[Route("/graphql", accounts_endpoint, methods=["POST"])])
    async with serve(subgraph) as accounts_url:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        closed.close()
        config = RouterConfig(
            internal_secret=SECRET,
            subgraph_urls={"accounts": accounts_url + "/graphql", "inventory": f"http://127.0.0.1:{dead_port}/graphql"},
        )
        async with serve(create_router_app(supergraph, config)) as url:
            status, body = await post(url, {"query": '{ me { name } user(id: "2") { username } }'})
            assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}, "user": {"username": "alan"}}})
            status, body = await post(url, {"query": "{ warehouseCount }"})
    assert status == 200
    assert body["data"] is None  # warehouseCount is non-null
    (error,) = body["errors"]
    assert 'Subgraph "inventory" is unreachable.' == error["message"]
    assert error["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
