"""Execution end to end through the pipeline with the in-process client: the router gives
what one monolithic schema gives (data and error paths), nulls propagate per the spec,
one failing subgraph does not blank the rest, and mutations run in order."""
from __future__ import annotations

import pytest
from .router_fixture_subgraphs import Store, monolith, run_monolith

from router.pipeline import GraphQLRequest


def comparable(body: dict) -> dict:
    """Data as is; errors as (message, path, code), the part both sides must agree on."""
    errors = sorted(
        (e["message"], tuple(e.get("path") or ()), e["extensions"]["code"]) for e in body.get("errors", ())
    )
    return {"data": body["data"], "errors": errors}


async def through_router(pipeline, query: str, variables: dict | None = None, operation_name: str | None = None) -> dict:
    outcome = await pipeline.execute(GraphQLRequest(query, variables, operation_name), {})
    assert outcome.status == 200, outcome.body
    return outcome.body


SAME_AS_MONOLITH = [
    "{ me { id name username } }",
    "{ me { name reviews { body stars product { __typename ... on Book { name pages inStock } ... on Furniture { name material } } } } }",
    "{ __typename topProducts { __typename upc name price inStock ... on Book { pages author { name reviews { body } } } ... on Furniture { material } } }",
    "fragment P on Product { name inStock } fragment B on Book { pages shippingCost } { topProducts(first: 2) { upc ...P ...B } }",
    '{ search(text: "the") { __typename ... on User { name username } ... on Book { name reviews { stars author { username } } } } }',
    '{ search(text: "a") { ... on Product { name } ... on User { id } } }',
    "{ latestReviews(first: 3) { id author { name reviews { id } } product { ... on Product { upc name inStock } } } }",
    '{ a: topProducts(first: 1) { n: name s: inStock } b: topProducts(first: 3) { n: upc x: __typename } c: me { n: name } }',
    '{ product(upc: "3") { name ... on Book { shippingCost } } }',
    '{ product(upc: "1") { name ... on Book { shippingCost } } nope: product(upc: "99") { name } }',
    "{ topProducts { name inStock } }",
    '{ furnitureByMaterial(material: WOOD) { name reviews { body author { name } } } }',
    '{ user(id: "2") { name reviews { product { ... on Furniture { name inStock shippingCost } } } } }',
    "{ me { reviews { product { ... on Book { author { reviews { product { ... on Book { name } } } } } } } } }",
    # The client uses the key's response key for something else: the key is aliased.
    "{ me { id: name reviews { body } } }",
    "{ me { id: username name: id reviews { body } } }",
    "{ topProducts { upc: name ... on Book { upc: name inStock } ... on Furniture { shippingCost } } }",
]


@pytest.mark.parametrize("query", SAME_AS_MONOLITH)
async def test_results_equal_the_monolith(pipeline, supergraph, query):
    routed = await through_router(pipeline, query)
    expected = await run_monolith(monolith(supergraph.api_schema), Store(), query)
    assert comparable(routed) == comparable(expected)


@pytest.mark.parametrize(
    "variables",
    [{"first": 1, "withStock": True, "withPages": False}, {"withStock": False, "withPages": True}, {"first": 4, "withStock": True, "withPages": True}],
)
async def test_variables_defaults_and_directives_equal_the_monolith(pipeline, supergraph, variables):
    query = """
      query Shop($first: Int = 2, $withStock: Boolean!, $withPages: Boolean = false) {
        topProducts(first: $first) {
          name
          inStock @include(if: $withStock)
          ... on Book @include(if: $withPages) { pages reviews { body } }
          ... @skip(if: $withStock) { upc }
        }
      }
    """
    routed = await through_router(pipeline, query, variables, "Shop")
    expected = await run_monolith(monolith(supergraph.api_schema), Store(), query, variables)
    assert comparable(routed) == comparable(expected)


async def test_planner_added_fields_are_removed_and_order_is_the_clients(pipeline):
    body = await through_router(pipeline, "{ me { reviews { body } name } }")
    assert list(body["data"]["me"]) == ["reviews", "name"]
    assert body["data"]["me"]["reviews"][0] == {"body": "A classic."}
    assert "errors" not in body


async def test_entity_representations_are_deduplicated(pipeline, client):
    # Ada wrote three reviews: one accounts entity call with one representation.
    await through_router(pipeline, "{ latestReviews { author { name } } }")
    accounts = [body for name, body, _ in client.calls if name == "accounts"]
    assert len(accounts) == 1
    assert accounts[0]["variables"]["representations"] == [{"__typename": "User", "id": "1"}, {"__typename": "User", "id": "2"}]


async def test_entity_error_paths_point_into_the_client_response(pipeline):
    body = await through_router(pipeline, "{ topProducts { name inStock } }")
    assert body["data"]["topProducts"][3] == {"name": "Desk", "inStock": None}
    (error,) = body["errors"]
    assert error["path"] == ["topProducts", 3, "inStock"]
    assert error["message"] == "Stock for upc 4 is unknown."
    assert error["extensions"]["code"] == "UNKNOWN_ASSET"
    assert error["extensions"]["service"] == "inventory"
    assert "locations" not in error


async def test_null_in_a_non_null_field_propagates_to_the_nearest_nullable_parent(pipeline):
    body = await through_router(pipeline, '{ product(upc: "3") { name ... on Book { shippingCost } } me { name } }')
    assert body["data"] == {"product": None, "me": {"name": "Ada Lovelace"}}
    assert [e["path"] for e in body["errors"]] == [["product", "shippingCost"]]


async def test_non_null_error_inside_a_list_of_non_null_items_nulls_the_nullable_ancestor(pipeline):
    body = await through_router(pipeline, '{ me { name reviews { product { ... on Book { shippingCost } } } } }')
    # Review.product is non-null, the list items are non-null, User.reviews is non-null: `me` goes.
    assert body["data"] == {"me": None}
    assert [e["path"] for e in body["errors"]] == [["me", "reviews", 1, "product", "shippingCost"]]


async def test_a_null_without_a_subgraph_error_gets_its_own_error(supergraph, store):
    from router.executor import Executor
    from router.pipeline import RouterPipeline

    class LyingClient:
        async def fetch(self, url, body, headers):
            return {"data": {"me": {"name": None}}}

    pipeline = RouterPipeline(supergraph, Executor(LyingClient(), {"accounts": "http://accounts"}))
    body = await through_router(pipeline, "{ me { name } }")
    assert body["data"] == {"me": None}
    (error,) = body["errors"]
    assert error["path"] == ["me", "name"]
    assert error["message"] == "Cannot return null for non-nullable field User.name."


async def test_unreachable_subgraph_names_it_and_spares_the_rest(pipeline, client):
    client.down.add("inventory")
    body = await through_router(pipeline, "{ topProducts(first: 2) { name inStock } me { name } }")
    assert body["data"] == {
        "topProducts": [{"name": "Structure and Interpretation", "inStock": None}, {"name": "Chair", "inStock": None}],
        "me": {"name": "Ada Lovelace"},
    }
    (error,) = body["errors"]
    assert "inventory" in error["message"]
    assert error["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    assert "Traceback" not in str(body)


async def test_unreachable_root_subgraph_nulls_only_its_fields(pipeline, client):
    client.down.add("accounts")
    body = await through_router(pipeline, "{ me { name } warehouseCount }")
    assert body["data"] == {"me": None, "warehouseCount": 3}
    assert len(body["errors"]) == 1 and "accounts" in body["errors"][0]["message"]


async def test_mutations_run_serially_in_the_clients_order(pipeline, supergraph, store, client):
    mutation = """mutation {
      a: renameUser(id: "1", name: "Ada A") { name }
      r: addReview(upc: "2", body: "Comfy", stars: 4) { body author { name } product { ... on Furniture { name } } }
      b: renameUser(id: "1", name: "Ada B") { name reviews { body } }
    }"""
    body = await through_router(pipeline, mutation)
    assert store.log == [("accounts", "renameUser Ada A"), ("reviews", "addReview Comfy"), ("accounts", "renameUser Ada B")]
    assert body["data"]["r"]["author"] == {"name": "Ada A"}  # resolved before `b` ran
    assert body["data"]["b"]["name"] == "Ada B"
    assert body["data"]["b"]["reviews"][-1] == {"body": "Comfy"}
    expected = await run_monolith(monolith(supergraph.api_schema), Store(), mutation)
    assert comparable(body) == comparable(expected)
    # r's entity fetches (author, product) run in parallel, all before `b`.
    assert client.services_called() == ["accounts", "reviews", "accounts", "products", "accounts", "reviews"]


async def test_root_typename_and_introspection_are_answered_by_the_router(pipeline, client):
    body = await through_router(
        pipeline,
        '{ __typename t: __type(name: "Book") { name fields { name } } me { name } __schema { queryType { name } } }',
    )
    assert body["data"]["__typename"] == "Query"
    assert body["data"]["t"]["name"] == "Book"
    assert {f["name"] for f in body["data"]["t"]["fields"]} >= {"upc", "inStock", "reviews"}
    assert body["data"]["__schema"] == {"queryType": {"name": "Query"}}
    assert list(body["data"]) == ["__typename", "t", "me", "__schema"]
    assert client.services_called() == ["accounts"]


async def test_introspection_hides_federation_machinery(pipeline, client):
    body = await through_router(pipeline, "{ __schema { types { name } directives { name } } }")
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Book", "Product", "SearchResult", "Decimal"} <= names
    assert not any(n.startswith(("join__", "link__", "_")) and not n.startswith("__") for n in names)
    assert client.calls == []


async def test_operation_name_selects_the_operation(pipeline):
    document = "query A { me { name } } query B { warehouseCount }"
    assert (await through_router(pipeline, document, None, "B"))["data"] == {"warehouseCount": 3}
    outcome = await pipeline.execute(GraphQLRequest(document, None, None), {})
    assert outcome.status == 200  # a GraphQL request error: 400 only under graphql-response+json (router/media.py)
    assert "data" not in outcome.body
    assert outcome.body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_prepared_operations_are_cached(pipeline):
    first = pipeline.prepare("{ me { name } }")
    assert pipeline.prepare("{ me { name } }") is first
    assert pipeline.prepare("{ me { name } }", None) is first
    assert pipeline.prepare("{ me { username } }") is not first


async def test_subgraph_headers_are_forwarded(pipeline, client):
    await pipeline.execute(GraphQLRequest("{ me { name reviews { body } } }"), {"x-test": "yes"})
    assert [headers for _, _, headers in client.calls] == [{"x-test": "yes"}, {"x-test": "yes"}]
