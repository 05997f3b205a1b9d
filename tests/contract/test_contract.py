"""The public contract: the router's API schema must hold schema.graphql, and with it
exchange.graphql's additions (the book's depth and the tape), with no breaking change
(graphql-core's find_breaking_changes), as clients rely on them.

The project pins its copy of the contract beside this test; where the steering repo's
shared/contract is present (development and CI), the copy must match it."""
from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_client_schema, build_schema, find_breaking_changes, get_introspection_query

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "contract"

pytestmark = pytest.mark.e2e
async_test = pytest.mark.asyncio(loop_scope="session")


def contract_schema():
    return build_schema((HERE / "schema.graphql").read_text(encoding="utf-8"))


def test_pinned_contract_matches_shared_contract():
    shared = SHARED / "schema.graphql"
    if not shared.exists():  # a user's clone: only the pinned copy exists
        return
    assert (HERE / "schema.graphql").read_text() == shared.read_text(), "tests/contract/schema.graphql drifted from shared/contract"


@async_test
async def test_router_api_schema_holds_the_contract(platform, http):
    async with http.post(platform.router_url, json={"query": get_introspection_query()}) as response:
        body = await response.json()
    assert "errors" not in body, body.get("errors")
    served = build_client_schema(body["data"])
    breaking = find_breaking_changes(contract_schema(), served)
    assert breaking == [], "\n".join(f"{change.type.name}: {change.description}" for change in breaking)


def exchange_contract_schema():
    """schema.graphql with exchange.graphql's additions (the book's depth and the tape)."""
    return build_schema("\n".join((HERE / name).read_text(encoding="utf-8") for name in ("schema.graphql", "exchange.graphql")))


def test_pinned_exchange_contract_matches_shared_contract():
    shared = SHARED / "exchange.graphql"
    if not shared.exists():
        return
    assert (HERE / "exchange.graphql").read_text() == shared.read_text(), "tests/contract/exchange.graphql drifted from shared/contract"


@async_test
async def test_router_api_schema_holds_the_exchange_contract(platform, http):
    async with http.post(platform.router_url, json={"query": get_introspection_query()}) as response:
        body = await response.json()
    assert "errors" not in body, body.get("errors")
    served = build_client_schema(body["data"])
    breaking = find_breaking_changes(exchange_contract_schema(), served)
    assert breaking == [], "\n".join(f"{change.type.name}: {change.description}" for change in breaking)
    assert {"book", "trades"} <= set(served.get_type("Asset").fields)


@async_test
async def test_federation_machinery_is_hidden(platform, http):
    async with http.post(platform.router_url, json={"query": "{ __schema { types { name } directives { name } } }"}) as response:
        schema = (await response.json())["data"]["__schema"]
    names = {t["name"] for t in schema["types"]}
    assert not {"_Any", "_Entity", "_Service", "join__Graph", "link__Purpose"} & names
    assert not {d["name"] for d in schema["directives"]} & {"join__type", "join__field", "link", "key"}


def additions_schema():
    """The whole contract with this project's additions (tests/contract/additions.graphql)."""
    names = ("schema.graphql", "exchange.graphql", "additions.graphql")
    return build_schema("\n".join((HERE / name).read_text(encoding="utf-8") for name in names))


@async_test
async def test_router_api_schema_holds_the_projects_additions(platform, http):
    async with http.post(platform.router_url, json={"query": get_introspection_query()}) as response:
        body = await response.json()
    served = build_client_schema(body["data"])
    breaking = find_breaking_changes(additions_schema(), served)
    assert breaking == [], "\n".join(f"{change.type.name}: {change.description}" for change in breaking)
