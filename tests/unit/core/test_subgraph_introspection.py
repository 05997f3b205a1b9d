"""A subgraph reached directly (not through the router) answers `_service { sdl }` and
introspection only beside the internal secret (mybroker.graphql.RouterOnlyIntrospection):
refused with FORBIDDEN and no data otherwise; `__typename` stays open. The SDL fetchers
(router.discovery) send the secret, so the platform still composes."""
from __future__ import annotations

import pytest
from fastapi import FastAPI

from mybroker.auth import ANONYMOUS, internal_headers
from mybroker.graphql import GraphQLContext, graphql_router
from router.discovery import SubgraphSdlError, compose_from_urls, fetch_subgraph_sdl, sdl_headers
from subgraphs.assets.schema import schema as assets_schema
from subgraphs.identity.schema import schema as identity_schema
from subgraphs.orders.schema import build_schema as build_orders_schema
from subgraphs.reports.schema import schema as reports_schema
from subgraphs.wallet.schema import schema as wallet_schema
from tests.unit.router.test_router_http import serve

SECRET = "s" * 32
SCHEMAS = {
    "identity": identity_schema,
    "wallet": wallet_schema,
    "assets": assets_schema,
    "orders": build_orders_schema(),
    "reports": reports_schema,
}
ROUTER_ONLY = {
    "sdl": "{ _service { sdl } }",
    "schema": "{ __schema { queryType { name } types { name } } }",
    "type": '{ __type(name: "Query") { fields { name } } }',
    "aliased": "{ t: __typename s: __schema { queryType { name } } }",
    "in a fragment": "query { ...Machinery } fragment Machinery on Query { _service { sdl } }",
    "nested in an inline fragment": "{ ... on Query { ... { __type(name: \"User\") { name } } } }",
    "beside a valid field, misspelt": "{ __schema { queryTyp { name } } }",
}


def context(*, internal: bool) -> GraphQLContext:
    return GraphQLContext(ANONYMOUS, service=None, internal=internal)


@pytest.mark.parametrize("name", SCHEMAS)
@pytest.mark.parametrize("query", ROUTER_ONLY.values(), ids=ROUTER_ONLY.keys())
async def test_refused_without_the_internal_secret(name, query):
    result = await SCHEMAS[name].execute(query, context_value=context(internal=False))
    assert result.data is None
    assert [error.extensions["code"] for error in result.errors] == ["FORBIDDEN"]


@pytest.mark.parametrize("name", SCHEMAS)
async def test_answered_with_the_internal_secret(name):
    sdl = await SCHEMAS[name].execute(ROUTER_ONLY["sdl"], context_value=context(internal=True))
    assert sdl.errors is None and "@key" in sdl.data["_service"]["sdl"]
    introspection = await SCHEMAS[name].execute(ROUTER_ONLY["schema"], context_value=context(internal=True))
    assert introspection.errors is None and introspection.data["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("name", SCHEMAS)
async def test_typename_alone_is_open_to_anyone(name):
    result = await SCHEMAS[name].execute("{ __typename }", context_value=context(internal=False))
    assert result.errors is None and result.data == {"__typename": "Query"}


async def test_no_context_is_no_secret():
    result = await reports_schema.execute(ROUTER_ONLY["sdl"])
    assert result.data is None and result.errors[0].extensions["code"] == "FORBIDDEN"


def assets_app() -> FastAPI:
    app = FastAPI()
    app.include_router(graphql_router(assets_schema, service=None, internal_secret=SECRET))
    return app


async def test_over_http_the_header_decides():
    import aiohttp

    async with serve(assets_app()) as url, aiohttp.ClientSession() as http:
        async def ask(query: str, headers: dict[str, str]) -> dict:
            async with http.post(url + "/graphql", json={"query": query}, headers=headers) as response:
                return await response.json()

        refused = await ask(ROUTER_ONLY["sdl"], {})
        assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        forged = await ask(ROUTER_ONLY["sdl"], internal_headers("not-the-secret" * 3))
        assert forged["data"] is None and forged["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "@key" in (await ask(ROUTER_ONLY["sdl"], internal_headers(SECRET)))["data"]["_service"]["sdl"]
        assert (await ask("{ __typename }", {})) == {"data": {"__typename": "Query"}}


async def test_sdl_fetch_sends_the_secret_and_names_a_refusal():
    async with serve(assets_app()) as url:
        with pytest.raises(SubgraphSdlError, match=r'"assets" .* refused .*FORBIDDEN.*MYBROKER_INTERNAL_SECRET'):
            await fetch_subgraph_sdl("assets", url + "/graphql")
        definition = await fetch_subgraph_sdl("assets", url + "/graphql", headers=sdl_headers(SECRET))
        assert "type Asset" in definition.sdl
        supergraph = await compose_from_urls([("assets", url + "/graphql")], headers=sdl_headers(SECRET))
        assert '@join__graph(name: "assets"' in supergraph


def test_sdl_headers_carry_the_secret_only_when_there_is_one():
    assert sdl_headers(SECRET) == internal_headers(SECRET)
    assert sdl_headers("") == {}
