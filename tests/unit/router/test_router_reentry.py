"""Fields no @key can reach: the planner enters the subgraph that resolves them higher up,
at a shareable root field or at an enclosing entity, and the answers merge by path.

names and prices share `Query.product` (Product has no key); shop owns Shop with a key
in `stock` only, where `Shop.product` is shareable: `stock` is entered at the Shop."""
from __future__ import annotations

from typing import Any

import orjson
import strawberry

from router.compose import SubgraphDef, compose
from router.executor import Executor
from router.pipeline import GraphQLRequest, RouterPipeline
from router.supergraph import Supergraph


@strawberry.federation.type(name="Product", shareable=True)
class NamedProduct:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=False)


@strawberry.type(name="Query")
class NamesQuery:
    @strawberry.federation.field(shareable=True)
    def product(self) -> NamedProduct:
        return NamedProduct(id=strawberry.ID("p1"), name="Pen")


@strawberry.federation.type(name="Product", shareable=True)
class PricedProduct:
    id: strawberry.ID
    price: int = strawberry.federation.field(shareable=False)


@strawberry.type(name="Query")
class PricesQuery:
    @strawberry.federation.field(shareable=True)
    def product(self) -> PricedProduct:
        return PricedProduct(id=strawberry.ID("p1"), price=3)

    @strawberry.field
    def shop(self) -> "PricesShop":
        return PricesShop(id=strawberry.ID("s1"), product=PricedProduct(id=strawberry.ID("p1"), price=3))


@strawberry.federation.type(keys=["id"], name="Shop")
class PricesShop:
    id: strawberry.ID
    product: PricedProduct = strawberry.federation.field(shareable=True)


@strawberry.federation.type(name="Product", shareable=True)
class StockProduct:
    id: strawberry.ID
    stock: int = strawberry.federation.field(shareable=False)


@strawberry.federation.type(keys=["id"], name="Shop")
class StockShop:
    id: strawberry.ID
    product: StockProduct = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "StockShop":
        return StockShop(id=id, product=StockProduct(id=strawberry.ID("p1"), stock=7))


@strawberry.type(name="Query")
class StockQuery:
    @strawberry.field
    def stock_version(self) -> int:
        return 1


SCHEMAS = {
    "names": strawberry.federation.Schema(query=NamesQuery),
    "prices": strawberry.federation.Schema(query=PricesQuery),
    "stock": strawberry.federation.Schema(query=StockQuery, types=[StockShop]),
}


class Client:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        self.calls.append(url)
        body = orjson.loads(orjson.dumps(body))
        result = await SCHEMAS[url].execute(body["query"], variable_values=body.get("variables"))
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
        return orjson.loads(orjson.dumps(response))


async def run(query: str) -> tuple[dict, Client]:
    supergraph = Supergraph.from_sdl(compose([SubgraphDef(n, n, s.as_str()) for n, s in SCHEMAS.items()]))
    client = Client()
    outcome = await RouterPipeline(supergraph, Executor(client, {n: n for n in SCHEMAS})).execute(GraphQLRequest(query), {})
    return outcome.body, client


async def test_a_shareable_root_field_is_split_across_the_subgraphs_that_resolve_its_fields():
    body, client = await run("{ product { id name price } }")
    assert body == {"data": {"product": {"id": "p1", "name": "Pen", "price": 3}}}
    assert sorted(client.calls) == ["names", "prices"]


async def test_a_field_below_a_keyless_type_is_reached_through_the_enclosing_entity():
    body, client = await run("{ shop { product { price stock } } }")
    assert body == {"data": {"shop": {"product": {"price": 3, "stock": 7}}}}
    assert client.calls == ["prices", "stock"]
