"""A field whose key only another subgraph can give: the planner re-enters a relay.

`catalog` serves `productFromCatalog`; `details` and `refs` extend Product (key `id`,
external) with a shareable `category` of a value type: `details` knows its `details`,
`refs` its `id`; `categories` resolves `Category.name` by that `id`. Asking for all three
Category fields needs `refs` twice over: for `id`, and as the relay whose `id` lets
`categories` answer `name` (neither `details` nor the Product's entity fetch in it can)."""
from __future__ import annotations

from typing import Any

import orjson
import strawberry

from router.compose import SubgraphDef, compose
from router.executor import Executor
from router.pipeline import GraphQLRequest, RouterPipeline
from router.supergraph import Supergraph


@strawberry.type(name="Category")
class DetailedCategory:
    details: str


@strawberry.federation.type(keys=["id"], name="Product")
class DetailedProduct:
    id: strawberry.ID = strawberry.federation.field(external=True)
    category: DetailedCategory = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "DetailedProduct":
        return DetailedProduct(id=id, category=DetailedCategory(details=f"Details for Product#{id}"))


@strawberry.type(name="Category")
class CategoryRef:
    id: strawberry.ID = strawberry.federation.field(shareable=True)


@strawberry.federation.type(keys=["id"], name="Product")
class ReferencingProduct:
    id: strawberry.ID = strawberry.federation.field(external=True)
    category: CategoryRef = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "ReferencingProduct":
        return ReferencingProduct(id=id, category=CategoryRef(id=strawberry.ID("3")))


@strawberry.federation.type(keys=["id"], name="Category")
class NamedCategory:
    id: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "NamedCategory":
        return NamedCategory(id=id, name=f"Category#{id}")


@strawberry.federation.type(keys=["id"], name="Product")
class CatalogProduct:
    id: strawberry.ID
    name: str


@strawberry.type(name="Query")
class CatalogQuery:
    @strawberry.field
    def product_from_catalog(self, id: strawberry.ID) -> CatalogProduct:
        return CatalogProduct(id=id, name=f"Product#{id}")


@strawberry.type(name="Query")
class VersionQuery:
    @strawberry.federation.field(shareable=True)
    def version(self) -> int:
        return 1


SCHEMAS = {
    "catalog": strawberry.federation.Schema(query=CatalogQuery),
    "details": strawberry.federation.Schema(query=VersionQuery, types=[DetailedProduct]),
    "refs": strawberry.federation.Schema(query=VersionQuery, types=[ReferencingProduct]),
    "categories": strawberry.federation.Schema(query=VersionQuery, types=[NamedCategory]),
}


class Client:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        self.calls.append(url)
        result = await SCHEMAS[url].execute(body["query"], variable_values=body.get("variables"))
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
        return orjson.loads(orjson.dumps(response))


async def run(query: str) -> tuple[dict, Client]:
    sdl = compose([SubgraphDef(name, name, schema.as_str()) for name, schema in SCHEMAS.items()])
    client = Client()
    pipeline = RouterPipeline(Supergraph.from_sdl(sdl), Executor(client, {name: name for name in SCHEMAS}))
    return (await pipeline.execute(GraphQLRequest(query), {})).body, client


async def test_a_key_only_another_subgraph_holds_is_fetched_through_it():
    body, client = await run('{ productFromCatalog(id: "1") { id name category { id name details } } }')
    assert body == {
        "data": {
            "productFromCatalog": {
                "id": "1",
                "name": "Product#1",
                "category": {"id": "3", "name": "Category#3", "details": "Details for Product#1"},
            }
        }
    }
    assert client.calls[0] == "catalog"
    assert sorted(client.calls) == ["catalog", "categories", "details", "refs"]


async def test_the_relay_alone_answers_when_only_the_far_field_is_asked():
    body, client = await run('{ productFromCatalog(id: "2") { category { name } } }')
    assert body == {"data": {"productFromCatalog": {"category": {"name": "Category#3"}}}}
    assert client.calls == ["catalog", "refs", "categories"]
