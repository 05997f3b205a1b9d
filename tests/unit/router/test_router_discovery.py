"""What the `mybroker` command uses: SDLs fetched from running subgraphs (served the way the
platform serves them, with mybroker.graphql.graphql_router on FastAPI), composition from
URLs, and printing the plan of an operation."""
from __future__ import annotations

import pytest
from fastapi import FastAPI
from .router_fixture_subgraphs import SCHEMAS, SECRET, subgraph_defs
from .test_router_http import serve

from mybroker.graphql import graphql_router
from router.compose import compose
from router.discovery import SubgraphSdlError, compose_from_urls, fetch_subgraph_sdl
from router.errors import RequestError
from router.pipeline import explain


def subgraph_app(name: str) -> FastAPI:
    app = FastAPI()
    app.include_router(graphql_router(SCHEMAS[name], service=None, internal_secret=SECRET))
    return app


async def test_fetch_subgraph_sdl_from_a_running_subgraph():
    async with serve(subgraph_app("accounts")) as url:
        definition = await fetch_subgraph_sdl("accounts", url + "/graphql")
    assert definition.name == "accounts" and definition.url.endswith("/graphql")
    assert 'type User @key(fields: "id")' in definition.sdl
    assert "_service" in definition.sdl  # as served: composition drops the machinery


async def test_compose_from_urls_equals_composing_the_sdls():
    urls = {}
    servers = [serve(subgraph_app(name)) for name in SCHEMAS]
    try:
        for name, server in zip(SCHEMAS, servers):
            urls[name] = await server.__aenter__() + "/graphql"
        sdl = await compose_from_urls(list(urls.items()))
    finally:
        for server in servers:
            await server.__aexit__(None, None, None)
    expected = compose(subgraph_defs())
    for name, url in urls.items():
        expected = expected.replace(f"http://{name}.test/graphql", url)
    assert sdl == expected


async def test_unreachable_or_wrong_subgraph_is_named():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(SubgraphSdlError, match='"ghost"'):
        await fetch_subgraph_sdl("ghost", f"http://127.0.0.1:{port}/graphql", timeout=2)
    async with serve(FastAPI()) as url:
        with pytest.raises(SubgraphSdlError, match='"empty"'):
            await fetch_subgraph_sdl("empty", url + "/graphql")


def test_explain_prints_the_plan(supergraph):
    text = explain(supergraph, "query Mine { me { reviews { body } } }")
    assert text.startswith("QueryPlan {\n  Sequence {\n    Fetch(service: \"accounts\")")
    assert 'Flatten(path: "me")' in text
    with pytest.raises(RequestError) as raised:
        explain(supergraph, "{ me { nope } }")
    assert raised.value.code.value == "GRAPHQL_VALIDATION_FAILED"
