"""Introspection and GraphiQL are on by default and each can be switched off."""
from __future__ import annotations

from graphql import get_introspection_query

from .edge_support import edge_router
from .test_router_http import codes, get, post


async def test_introspection_off(supergraph, store):
    async with edge_router(supergraph, store, introspection=False) as (url, _):
        for query in (get_introspection_query(), '{ __type(name: "Book") { name } }', "{ me { name } ... on Query { __schema { queryType { name } } } }"):
            status, body = await post(url, {"query": query})
            assert status == 400 and codes(body) == ["INTROSPECTION_DISABLED"], query
            assert "data" not in body and "disabled" in body["errors"][0]["message"]
        status, body = await post(url, {"query": "{ __typename me { __typename name } }"})
        assert (status, body) == (200, {"data": {"__typename": "Query", "me": {"__typename": "User", "name": "Ada Lovelace"}}})


async def test_introspection_on_by_default(supergraph, store):
    async with edge_router(supergraph, store) as (url, _):
        status, body = await post(url, {"query": '{ __type(name: "Book") { name } }'})
    assert (status, body) == (200, {"data": {"__type": {"name": "Book"}}})


async def test_graphiql_off(supergraph, store):
    async with edge_router(supergraph, store, graphiql=False) as (url, _):
        status, body, response = await get(url, {}, {"accept": "text/html"})
    assert response.content_type == "application/json"
    assert status == 400 and "graphiql" not in str(body).lower()
