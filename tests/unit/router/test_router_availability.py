"""Issue 13, availability: a subgraph that cannot be reached, times out or runs past the
operation's deadline is SUBGRAPH_UNAVAILABLE for its own fetch; the rest of the response
stands. A subgraph that answers with its own errors keeps them as they are."""
from __future__ import annotations

import asyncio
import time

import pytest

from router.executor import Executor
from router.pipeline import GraphQLRequest, RouterPipeline
from router.subgraph_client import SubgraphTimeout, SubgraphUnavailable

from .router_fixture_subgraphs import SCHEMAS, InProcessClient, url_of

pytestmark = pytest.mark.asyncio

URLS = {name: url_of(name) for name in SCHEMAS}
QUERY = "{ topProducts(first: 2) { name inStock } me { name } }"
PRODUCTS_AND_ME = {
    "topProducts": [{"name": "Structure and Interpretation", "inStock": None}, {"name": "Chair", "inStock": None}],
    "me": {"name": "Ada Lovelace"},
}


class Failing(InProcessClient):
    """The test subgraphs, with one of them failing as `failure(url)` says."""

    def __init__(self, store, service: str, failure):
        super().__init__(store)
        self.service = service
        self.failure = failure

    async def fetch(self, url, body, headers):
        if self.names[url] == self.service:
            self.calls.append((self.service, body, dict(headers)))
            return await self.failure(url)
        return await super().fetch(url, body, headers)


async def run(supergraph, client, query=QUERY, **executor) -> dict:
    pipeline = RouterPipeline(supergraph, Executor(client, URLS, **executor))
    outcome = await pipeline.execute(GraphQLRequest(query), {})
    assert outcome.status == 200, outcome.body
    return outcome.body


def raising(error: Exception):
    async def fail(url):
        raise error

    return fail


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (SubgraphUnavailable("ClientConnectorError"), 'Subgraph "inventory" is unreachable.'),
        (SubgraphTimeout("no answer within 10 s"), 'Subgraph "inventory" did not answer in time.'),
    ],
)
async def test_an_unreachable_or_slow_subgraph_is_subgraph_unavailable(supergraph, store, error, message):
    body = await run(supergraph, Failing(store, "inventory", raising(error)))
    assert body["data"] == PRODUCTS_AND_ME
    (got,) = body["errors"]
    assert got["message"] == message
    assert got["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    assert got["extensions"]["service"] == "inventory" and len(got["extensions"]["requestId"]) == 12
    assert "ClientConnectorError" not in str(body) and "10 s" not in str(body)  # the detail is logged, not sent


async def test_a_subgraph_answering_with_its_own_errors_keeps_them(supergraph, store):
    async def answer(url):
        return {"data": {"me": None}, "errors": [{"message": "Sign in first.", "path": ["me"], "extensions": {"code": "UNAUTHENTICATED"}}]}

    body = await run(supergraph, Failing(store, "accounts", answer), "{ me { name } }")
    assert body == {
        "data": {"me": None},
        "errors": [{"message": "Sign in first.", "path": ["me"], "extensions": {"code": "UNAUTHENTICATED", "service": "accounts"}}],
    }


async def test_a_broken_client_is_still_an_internal_error(supergraph, store):
    body = await run(supergraph, Failing(store, "inventory", raising(RuntimeError("a bug"))))
    (got,) = body["errors"]
    assert got["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and "could not be queried" in got["message"]
    # A TimeoutError the client raised itself, before any deadline, is a bug of the client's too.
    body = await run(supergraph, Failing(store, "inventory", raising(TimeoutError())), operation_timeout=30)
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


async def test_the_operation_deadline_cancels_a_slow_fetch_and_keeps_the_rest(supergraph, store):
    cancelled = asyncio.Event()

    async def hang(url):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    started = time.perf_counter()
    body = await run(supergraph, Failing(store, "inventory", hang), operation_timeout=0.2)
    elapsed = time.perf_counter() - started
    assert 0.2 <= elapsed < 1.0
    assert cancelled.is_set()
    assert body["data"] == PRODUCTS_AND_ME
    (got,) = body["errors"]
    assert got["message"] == """Subgraph "inventory" did not answer within the operation's deadline of 0.2 s."""
    assert got["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE" and got["extensions"]["service"] == "inventory"


async def test_a_fetch_after_the_deadline_is_not_sent(supergraph, store):
    """products answers, but only once the operation's 30 s are over (a stepped clock): the
    entity fetch to inventory that would follow is not sent at all."""
    now = [1000.0]

    class Slow(InProcessClient):
        async def fetch(self, url, body, headers):
            if self.names[url] == "products":
                now[0] += 31
            return await super().fetch(url, body, headers)

    client = Slow(store)
    body = await run(supergraph, client, "{ topProducts(first: 2) { name inStock } }", operation_timeout=30, clock=lambda: now[0])
    assert client.services_called() == ["products"]
    assert body["data"] == {"topProducts": PRODUCTS_AND_ME["topProducts"]}
    (got,) = body["errors"]
    assert got["message"] == 'Subgraph "inventory" was not queried: the operation passed its deadline of 30 s.'
    assert got["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"


async def test_no_deadline_by_default_in_the_executor(supergraph, store):
    """Executor(...) alone has none (tests, tools); the router's app sets 30 s."""
    assert Executor(InProcessClient(store), URLS).operation_timeout is None


# ---------------------------------------------------------------- over HTTP

GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json, application/json;q=0.9"}


async def post_raw(url: str, payload, headers: dict | None = None):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/graphql", json=payload, headers=headers or {}) as response:
            return response.status, response.headers, await response.json(content_type=None)


async def test_a_dead_subgraph_is_503_with_retry_after_under_graphql_response_json(supergraph, store):
    """inventory listens nowhere (the production HTTP client meets a refused connection);
    warehouseCount is non-null, so the whole `data` is null. application/json keeps its
    200; application/graphql-response+json says 503 and when to retry."""
    import socket

    from router.http import RouterConfig, create_router_app

    from .router_fixture_subgraphs import SECRET
    from .test_router_http import serve

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    config = RouterConfig(internal_secret=SECRET, subgraph_urls={"inventory": f"http://127.0.0.1:{dead_port}/graphql"})
    async with serve(create_router_app(supergraph, config)) as url:
        legacy = await post_raw(url, {"query": "{ warehouseCount }"})
        modern = await post_raw(url, {"query": "{ warehouseCount }"}, GRAPHQL_RESPONSE)
        invalid = await post_raw(url, {"query": "{ nope }"}, GRAPHQL_RESPONSE)
        unparsable = await post_raw(url, {"query": "{"}, GRAPHQL_RESPONSE)

    status, headers, body = legacy
    assert (status, headers["content-type"], "retry-after" in headers) == (200, "application/json", False)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"

    status, headers, body = modern
    assert status == 503
    assert headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    assert headers["retry-after"] == "1" and headers["vary"] == "accept"
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["message"] == 'Subgraph "inventory" is unreachable.'
    assert error["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE" and error["extensions"]["service"] == "inventory"

    for (status, headers, body), code in ((invalid, "GRAPHQL_VALIDATION_FAILED"), (unparsable, "GRAPHQL_PARSE_FAILED")):
        assert (status, headers["content-type"]) == (400, "application/graphql-response+json; charset=utf-8")
        assert "data" not in body and body["errors"][0]["extensions"]["code"] == code


async def test_partial_data_with_a_dead_subgraph_is_200_under_graphql_response_json(supergraph, store):
    from .edge_support import edge_router

    client = InProcessClient(store)
    client.down.add("inventory")
    async with edge_router(supergraph, store, client=client) as (url, _):
        status, headers, body = await post_raw(url, {"query": QUERY}, GRAPHQL_RESPONSE)
    assert (status, "retry-after" in headers) == (200, False)
    assert body["data"] == PRODUCTS_AND_ME and body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"


async def test_apq_not_found_is_400_under_graphql_response_json_and_200_under_json(supergraph, store):
    from .edge_support import edge_router

    unknown = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    async with edge_router(supergraph, store) as (url, _):
        legacy = await post_raw(url, unknown)
        modern = await post_raw(url, unknown, GRAPHQL_RESPONSE)
    assert legacy[0] == 200 and modern[0] == 400
    assert legacy[2] == modern[2] and modern[2]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_the_routers_operation_deadline_over_http(supergraph, store):
    """RouterConfig.operation_timeout (MYBROKER_ROUTER_OPERATION_TIMEOUT) reaches the
    executor: inventory hangs, the answer comes at 0.2 s with the rest of the data."""
    from .edge_support import edge_router

    async def hang(url):
        await asyncio.sleep(30)

    started = time.perf_counter()
    async with edge_router(supergraph, store, client=Failing(store, "inventory", hang), operation_timeout=0.2) as (url, _):
        status, _, body = await post_raw(url, {"query": QUERY}, GRAPHQL_RESPONSE)
    assert time.perf_counter() - started < 1.0
    assert status == 200 and body["data"] == PRODUCTS_AND_ME
    assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE" and "deadline of 0.2 s" in body["errors"][0]["message"]
