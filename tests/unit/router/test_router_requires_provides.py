"""@requires and @provides in the planner, end to end over two small Strawberry subgraphs.

catalog owns Product (name, weight); shipping computes `shippingCost` from the @external
`weight` (@requires) and can answer `name` itself below `cheapest` (@provides); insurance
computes `insuredCost` from `shippingCost` (a @requires on a @requires field)."""
from __future__ import annotations

from typing import Any

import orjson
import strawberry

from router.compose import SubgraphDef, compose
from router.executor import Executor
from router.pipeline import GraphQLRequest, RouterPipeline
from router.planner import plan
from router.supergraph import Supergraph
from graphql import parse

PRODUCTS = {"p1": {"name": "Pen", "weight": 2}, "p2": {"name": "Desk", "weight": 30}}


@strawberry.federation.type(keys=["id"], name="Product")
class CatalogProduct:
    id: strawberry.ID
    name: str
    weight: int

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "CatalogProduct":
        return CatalogProduct(id=id, **PRODUCTS[id])


@strawberry.type(name="Query")
class CatalogQuery:
    @strawberry.field
    def products(self) -> list[CatalogProduct]:
        return [CatalogProduct(id=strawberry.ID(k), **v) for k, v in PRODUCTS.items()]


@strawberry.federation.type(keys=["id"], name="Product")
class ShippingProduct:
    id: strawberry.ID
    name: str = strawberry.federation.field(external=True)
    weight: int = strawberry.federation.field(external=True)

    @strawberry.federation.field(requires=["weight"])
    def shipping_cost(self) -> int:
        if self.weight is None:
            raise ValueError("weight was not provided")
        return self.weight * 3

    @strawberry.federation.field(requires=["name"])
    def label(self) -> str:
        return f"ship {self.name}"

    @classmethod
    def resolve_reference(cls, id: strawberry.ID, weight: int | None = None, name: str | None = None) -> "ShippingProduct":
        return ShippingProduct(id=id, name=name, weight=weight)  # type: ignore[arg-type]


@strawberry.type(name="Query")
class ShippingQuery:
    @strawberry.federation.field(provides=["name"])
    def cheapest(self) -> ShippingProduct:
        return ShippingProduct(id=strawberry.ID("p1"), name="Pen (from shipping)", weight=None)  # type: ignore[arg-type]


@strawberry.federation.type(keys=["id"], name="Product")
class InsuranceProduct:
    id: strawberry.ID
    shipping_cost: int = strawberry.federation.field(external=True)

    @strawberry.federation.field(requires=["shippingCost"])
    def insured_cost(self) -> int:
        return self.shipping_cost + 1

    @classmethod
    def resolve_reference(cls, id: strawberry.ID, shippingCost: int | None = None) -> "InsuranceProduct":
        return InsuranceProduct(id=id, shipping_cost=shippingCost)  # type: ignore[arg-type]


@strawberry.type(name="Query")
class InsuranceQuery:
    @strawberry.field
    def insurance_version(self) -> int:
        return 1


SCHEMAS = {
    "catalog": strawberry.federation.Schema(query=CatalogQuery),
    "shipping": strawberry.federation.Schema(query=ShippingQuery, types=[ShippingProduct]),
    "insurance": strawberry.federation.Schema(query=InsuranceQuery, types=[InsuranceProduct]),
}


class Client:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        body = orjson.loads(orjson.dumps(body))
        self.calls.append((url, orjson.loads(orjson.dumps(body))))  # Strawberry mutates representations
        result = await SCHEMAS[url].execute(body["query"], variable_values=body.get("variables"))
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
        return orjson.loads(orjson.dumps(response))


def supergraph() -> Supergraph:
    return Supergraph.from_sdl(compose([SubgraphDef(name, name, schema.as_str()) for name, schema in SCHEMAS.items()]))


async def run(query: str) -> tuple[dict, Client]:
    client = Client()
    pipeline = RouterPipeline(supergraph(), Executor(client, {name: name for name in SCHEMAS}))
    outcome = await pipeline.execute(GraphQLRequest(query), {})
    return outcome.body, client


async def test_requires_sends_the_required_fields_in_the_representation():
    body, client = await run("{ products { id shippingCost } }")
    assert body == {"data": {"products": [{"id": "p1", "shippingCost": 6}, {"id": "p2", "shippingCost": 90}]}}
    services = [url for url, _ in client.calls]
    assert services == ["catalog", "shipping"]
    representations = client.calls[1][1]["variables"]["representations"]
    assert representations == [{"__typename": "Product", "id": "p1", "weight": 2}, {"__typename": "Product", "id": "p2", "weight": 30}]


async def test_requires_from_another_subgraph_fetches_the_required_fields_first():
    # The root is shipping: weight comes from catalog before shippingCost is asked for.
    body, client = await run("{ cheapest { shippingCost } }")
    assert body == {"data": {"cheapest": {"shippingCost": 6}}}
    assert [url for url, _ in client.calls] == ["shipping", "catalog", "shipping"]
    assert client.calls[2][1]["variables"]["representations"] == [{"__typename": "Product", "id": "p1", "weight": 2}]


async def test_provides_resolves_provided_fields_without_another_fetch():
    body, client = await run("{ cheapest { id name } }")
    assert body == {"data": {"cheapest": {"id": "p1", "name": "Pen (from shipping)"}}}
    assert [url for url, _ in client.calls] == ["shipping"]


def test_provided_fields_stay_external_outside_the_providing_field():
    # `products` has no @provides: name and weight come from catalog, shippingCost after.
    query_plan = plan(supergraph(), parse("{ products { name shippingCost } }"))
    assert [(f.service, f.is_entity_fetch) for f in query_plan.fetches()] == [("catalog", False), ("shipping", True)]


async def test_a_requires_chain_runs_each_fetch_after_the_one_it_needs():
    body, client = await run("{ products { id insuredCost shippingCost } }")
    assert body == {"data": {"products": [{"id": "p1", "insuredCost": 7, "shippingCost": 6}, {"id": "p2", "insuredCost": 91, "shippingCost": 90}]}}
    assert [url for url, _ in client.calls] == ["catalog", "shipping", "insurance"]
    assert client.calls[2][1]["variables"]["representations"][0] == {"__typename": "Product", "id": "p1", "shippingCost": 6}


async def test_a_requires_chain_from_a_root_that_has_neither_requirement():
    # shipping (root) -> catalog (weight) -> shipping (shippingCost) -> insurance: the last
    # two both wait on more than their parent, and the last waits on the one before it.
    body, client = await run("{ cheapest { insuredCost } }")
    assert body == {"data": {"cheapest": {"insuredCost": 7}}}
    assert [url for url, _ in client.calls] == ["shipping", "catalog", "shipping", "insurance"]


async def test_fields_requiring_different_fields_share_one_fetch():
    body, client = await run("{ products { shippingCost label } }")
    assert body == {"data": {"products": [{"shippingCost": 6, "label": "ship Pen"}, {"shippingCost": 90, "label": "ship Desk"}]}}
    assert [url for url, _ in client.calls] == ["catalog", "shipping"]
    assert client.calls[1][1]["variables"]["representations"][0] == {"__typename": "Product", "id": "p1", "weight": 2, "name": "Pen"}


FRAGMENT_SUPERGRAPH = """schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { A @join__graph(name: "a", url: "http://a") B @join__graph(name: "b", url: "http://b") }
interface Foo @join__type(graph: A) @join__type(graph: B) { foo: String! }
type Qux implements Foo @join__implements(graph: A, interface: "Foo") @join__implements(graph: B, interface: "Foo") @join__type(graph: A) @join__type(graph: B) { foo: String! }
type Entity @join__type(graph: A, key: "id") @join__type(graph: B, key: "id") {
  id: ID!
  data: Foo @join__field(graph: A) @join__field(graph: B, external: true)
  onFoo: String! @join__field(graph: B, requires: "data { ... on Foo { foo } }")
  onQux: String! @join__field(graph: B, requires: "data { ... on Qux { foo } }")
}
type Query @join__type(graph: A) @join__type(graph: B) { entity: Entity @join__field(graph: B) }
"""


def test_required_fragments_match_the_runtime_types_of_the_data():
    from router.executor import project

    query_plan = plan(Supergraph.from_sdl(FRAGMENT_SUPERGRAPH), parse("{ entity { onFoo onQux } }"))
    requiring = [f for f in query_plan.fetches() if f.service == "b" and f.is_entity_fetch]
    # Different requirements on one field: a representation each.
    assert len(requiring) == 2
    entity = {"__typename": "Entity", "id": "1", "data": {"__typename": "Qux", "foo": "x"}}
    for fetch in requiring:
        (shape,) = fetch.requires
        assert project(entity, shape.selections) == {"__typename": "Entity", "id": "1", "data": {"foo": "x"}}


PROVIDED_KEY_SUPERGRAPH = FRAGMENT_SUPERGRAPH.split("interface Foo")[0].replace('B @join__graph(name: "b", url: "http://b")', 'C @join__graph(name: "c", url: "http://c")') + """type Animal @join__type(graph: A) @join__type(graph: C, key: "id") {
  id: ID! @join__field(graph: A, external: true) @join__field(graph: C)
  age: Int @join__field(graph: C)
}
type Book @join__type(graph: A) { animal: Animal }
type Query @join__type(graph: A) @join__type(graph: C) { book: Book @join__field(graph: A, provides: "animal { id }") }
"""


def test_a_key_the_subgraph_provides_opens_the_jump():
    query_plan = plan(Supergraph.from_sdl(PROVIDED_KEY_SUPERGRAPH), parse("{ book { animal { age } } }"))
    root, ages = query_plan.fetches()
    assert root.service == "a" and "animal{__typename id}" in root.operation
    assert ages.service == "c" and "age" in ages.operation
