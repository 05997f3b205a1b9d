"""Four small Federation 2 subgraphs (accounts, products, inventory, reviews) over one
in-memory store, the same API as one monolithic schema, and an in-process SubgraphClient.

The monolith is the router's own API schema (from the composed supergraph) executed by
graphql-core with plain resolvers over the same store, so "through the router" and
"in one schema" can be compared result for result."""
from __future__ import annotations

import copy
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, AsyncGenerator

import orjson
import strawberry
from graphql import GraphQLSchema, build_schema, graphql, print_schema
from strawberry.federation.schema_directives import Key

from mybroker.auth import caller_from_headers
from mybroker.errors import DomainError, ErrorCode
from mybroker.graphql import CONFIG, SubgraphSchema, format_error
from router.compose import SubgraphDef
from router.subgraph_client import SubgraphUnavailable

SECRET = "test-internal-secret"

USERS = {
    "1": {"id": "1", "name": "Ada Lovelace", "username": "ada"},
    "2": {"id": "2", "name": "Alan Turing", "username": "alan"},
}
PRODUCTS = [
    {"__typename": "Book", "upc": "1", "name": "Structure and Interpretation", "price": "45.00", "pages": 657, "author": "1"},
    {"__typename": "Furniture", "upc": "2", "name": "Chair", "price": "120.50", "material": "WOOD"},
    {"__typename": "Book", "upc": "3", "name": "The Art of Computer Programming", "price": "199.99", "pages": 3168, "author": "2"},
    {"__typename": "Furniture", "upc": "4", "name": "Desk", "price": "310.00", "material": "METAL"},
]
INVENTORY = {
    "1": {"inStock": True, "shippingCost": "5.00"},
    "2": {"inStock": False, "shippingCost": "20.00"},
    "3": {"inStock": True, "shippingCost": None},  # shippingCost fails for upc 3
    "4": {"inStock": None, "shippingCost": "35.00"},  # inStock fails for upc 4
}
REVIEWS = [
    {"id": "r1", "body": "A classic.", "stars": 5, "author": "1", "product": "1"},
    {"id": "r2", "body": "Wobbly.", "stars": 2, "author": "2", "product": "2"},
    {"id": "r3", "body": "Dense but worth it.", "stars": 4, "author": "1", "product": "3"},
    {"id": "r4", "body": "Sturdy.", "stars": 5, "author": "1", "product": "4"},
]


class Store:
    def __init__(self) -> None:
        self.users = copy.deepcopy(USERS)
        self.products = copy.deepcopy(PRODUCTS)
        self.inventory = copy.deepcopy(INVENTORY)
        self.reviews = copy.deepcopy(REVIEWS)
        self.log: list[tuple[str, str]] = []

    def product(self, upc: str) -> dict | None:
        return next((p for p in self.products if p["upc"] == upc), None)

    def in_stock(self, upc: str) -> bool | None:
        if upc == "4":
            raise DomainError(ErrorCode.UNKNOWN_ASSET, "Stock for upc 4 is unknown.")
        return self.inventory[upc]["inStock"]

    def shipping_cost(self, upc: str) -> str:
        if upc == "3":
            raise DomainError(ErrorCode.BAD_USER_INPUT, "No shipping for upc 3.")
        return self.inventory[upc]["shippingCost"]


def _store(info) -> Store:
    return info.context["store"]


# ---------------------------------------------------------------- accounts


@strawberry.federation.type(keys=["id"], name="User")
class AccountsUser:
    id: strawberry.ID
    name: str
    username: str

    @classmethod
    def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> "AccountsUser":
        return AccountsUser(**_store(info).users[id])


@strawberry.type(name="Query")
class AccountsQuery:
    @strawberry.field
    def me(self, info: strawberry.Info) -> AccountsUser | None:
        return AccountsUser(**_store(info).users["1"])

    @strawberry.field
    def user(self, info: strawberry.Info, id: strawberry.ID) -> AccountsUser | None:
        found = _store(info).users.get(id)
        return AccountsUser(**found) if found else None

    @strawberry.field
    def whoami(self, info: strawberry.Info) -> str | None:
        """The user the router vouched for (internal token + user header), if any."""
        return caller_from_headers(info.context["headers"], SECRET).user_id


@strawberry.type(name="Mutation")
class AccountsMutation:
    @strawberry.mutation
    def rename_user(self, info: strawberry.Info, id: strawberry.ID, name: str) -> AccountsUser:
        store = _store(info)
        store.users[id]["name"] = name
        store.log.append(("accounts", f"renameUser {name}"))
        return AccountsUser(**store.users[id])


accounts = SubgraphSchema(query=AccountsQuery, mutation=AccountsMutation, config=CONFIG)


# ---------------------------------------------------------------- products


@strawberry.enum(name="Material")
class Material(Enum):
    WOOD = "WOOD"
    METAL = "METAL"
    PLASTIC = "PLASTIC"


@strawberry.federation.type(keys=[Key(fields="id", resolvable=False)], name="User")
class ProductsUser:
    id: strawberry.ID


@strawberry.interface(name="Product")
class ProductsProduct:
    upc: strawberry.ID
    name: str
    price: Decimal


@strawberry.federation.type(keys=["upc"], name="Book")
class ProductsBook(ProductsProduct):
    pages: int
    author: ProductsUser

    @classmethod
    def resolve_reference(cls, info: strawberry.Info, upc: strawberry.ID):
        return _product(_store(info).product(upc))


@strawberry.federation.type(keys=["upc"], name="Furniture")
class ProductsFurniture(ProductsProduct):
    material: Material

    @classmethod
    def resolve_reference(cls, info: strawberry.Info, upc: strawberry.ID):
        return _product(_store(info).product(upc))


def _product(data: dict | None):
    if data is None:
        return None
    common = {"upc": data["upc"], "name": data["name"], "price": Decimal(data["price"])}
    if data["__typename"] == "Book":
        return ProductsBook(**common, pages=data["pages"], author=ProductsUser(id=data["author"]))
    return ProductsFurniture(**common, material=Material(data["material"]))


SearchResult = Annotated[ProductsBook | ProductsFurniture | ProductsUser, strawberry.union("SearchResult")]


@strawberry.type(name="Query")
class ProductsQuery:
    @strawberry.field
    def top_products(self, info: strawberry.Info, first: int = 5) -> list[ProductsProduct]:
        return [_product(p) for p in _store(info).products[:first]]

    @strawberry.field
    def product(self, info: strawberry.Info, upc: strawberry.ID) -> ProductsProduct | None:
        return _product(_store(info).product(upc))

    @strawberry.field
    def search(self, info: strawberry.Info, text: str) -> list[SearchResult]:
        found: list = []
        for data in _store(info).products:
            if text.lower() in data["name"].lower():
                found.append(_product(data))
                if data["__typename"] == "Book":
                    found.append(ProductsUser(id=data["author"]))
        return found

    @strawberry.field
    def furniture_by_material(self, info: strawberry.Info, material: Material) -> list[ProductsFurniture]:
        return [_product(p) for p in _store(info).products if p.get("material") == material.value]


products = SubgraphSchema(query=ProductsQuery, types=[ProductsBook, ProductsFurniture], config=CONFIG)


# ---------------------------------------------------------------- inventory


@strawberry.interface(name="Product")
class InventoryProduct:
    upc: strawberry.ID

    @strawberry.field
    def in_stock(self, info: strawberry.Info) -> bool | None:
        return _store(info).in_stock(self.upc)


@strawberry.federation.type(keys=["upc"], name="Book")
class InventoryBook(InventoryProduct):
    @strawberry.field
    def shipping_cost(self, info: strawberry.Info) -> Decimal:
        return Decimal(_store(info).shipping_cost(self.upc))

    @classmethod
    def resolve_reference(cls, upc: strawberry.ID) -> "InventoryBook":
        return InventoryBook(upc=upc)


@strawberry.federation.type(keys=["upc"], name="Furniture")
class InventoryFurniture(InventoryProduct):
    @strawberry.field
    def shipping_cost(self, info: strawberry.Info) -> Decimal:
        return Decimal(_store(info).shipping_cost(self.upc))

    @classmethod
    def resolve_reference(cls, upc: strawberry.ID) -> "InventoryFurniture":
        return InventoryFurniture(upc=upc)


@strawberry.type(name="Query")
class InventoryQuery:
    @strawberry.field
    def warehouse_count(self) -> int:
        return 3


inventory = SubgraphSchema(query=InventoryQuery, types=[InventoryBook, InventoryFurniture], config=CONFIG)


# ---------------------------------------------------------------- reviews


@strawberry.type(name="Review")
class ReviewsReview:
    id: strawberry.ID
    body: str
    stars: int
    author_id: strawberry.Private[str]
    product_upc: strawberry.Private[str]

    @strawberry.field
    def author(self) -> "ReviewsUser":
        return ReviewsUser(id=self.author_id)

    @strawberry.field
    def product(self, info: strawberry.Info) -> "Reviewable":
        data = _store(info).product(self.product_upc)
        cls = ReviewsBook if data["__typename"] == "Book" else ReviewsFurniture
        return cls(upc=self.product_upc)


def _reviews(store: Store, **match) -> list[ReviewsReview]:
    return [
        ReviewsReview(id=r["id"], body=r["body"], stars=r["stars"], author_id=r["author"], product_upc=r["product"])
        for r in store.reviews
        if all(r[k] == v for k, v in match.items())
    ]


@strawberry.federation.type(keys=["id"], name="User")
class ReviewsUser:
    id: strawberry.ID

    @strawberry.field
    def reviews(self, info: strawberry.Info) -> list[ReviewsReview]:
        return _reviews(_store(info), author=self.id)


@strawberry.federation.type(keys=["upc"], name="Book")
class ReviewsBook:
    upc: strawberry.ID

    @strawberry.field
    def reviews(self, info: strawberry.Info) -> list[ReviewsReview]:
        return _reviews(_store(info), product=self.upc)


@strawberry.federation.type(keys=["upc"], name="Furniture")
class ReviewsFurniture:
    upc: strawberry.ID

    @strawberry.field
    def reviews(self, info: strawberry.Info) -> list[ReviewsReview]:
        return _reviews(_store(info), product=self.upc)


Reviewable = Annotated[ReviewsBook | ReviewsFurniture, strawberry.union("Reviewable")]


@strawberry.type(name="Query")
class ReviewsQuery:
    @strawberry.field
    def latest_reviews(self, info: strawberry.Info, first: int = 10) -> list[ReviewsReview]:
        return list(reversed(_reviews(_store(info))))[:first]


@strawberry.type(name="Mutation")
class ReviewsMutation:
    @strawberry.mutation
    def add_review(self, info: strawberry.Info, upc: strawberry.ID, body: str, stars: int) -> ReviewsReview:
        store = _store(info)
        review = {"id": f"r{len(store.reviews) + 1}", "body": body, "stars": stars, "author": "1", "product": upc}
        store.reviews.append(review)
        store.log.append(("reviews", f"addReview {body}"))
        return _reviews(store, id=review["id"])[0]


@strawberry.type(name="Subscription")
class ReviewsSubscription:
    @strawberry.subscription
    async def review_added(self, info: strawberry.Info) -> AsyncGenerator[ReviewsReview, None]:
        for review in _reviews(_store(info)):
            yield review


# Strawberry finds entities by walking fields, not unions: list the union members.
reviews = SubgraphSchema(
    query=ReviewsQuery,
    mutation=ReviewsMutation,
    subscription=ReviewsSubscription,
    types=[ReviewsUser, ReviewsBook, ReviewsFurniture],
    config=CONFIG,
)


SCHEMAS = {"accounts": accounts, "products": products, "inventory": inventory, "reviews": reviews}


def url_of(name: str) -> str:
    return f"http://{name}.test/graphql"


def subgraph_defs(names=None) -> list[SubgraphDef]:
    names = names or list(SCHEMAS)
    return [SubgraphDef(name, url_of(name), SCHEMAS[name].as_str()) for name in names]


def service_sdl(name: str) -> str:
    return SCHEMAS[name].execute_sync("{ _service { sdl } }").data["_service"]["sdl"]


# ---------------------------------------------------------------- in-process client


class InProcessClient:
    """Executes subgraph requests against the Strawberry schemas directly, through a JSON
    round trip, recording every call. URLs in `down` raise SubgraphUnavailable."""

    def __init__(self, store: Store):
        self.store = store
        self.schemas = {url_of(name): schema for name, schema in SCHEMAS.items()}
        self.names = {url_of(name): name for name in SCHEMAS}
        self.calls: list[tuple[str, dict, dict]] = []
        self.down: set[str] = set()

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        name = self.names[url]
        # Over the wire the body is JSON: a fresh copy per side (Strawberry mutates representations).
        self.calls.append((name, orjson.loads(orjson.dumps(body)), dict(headers)))
        body = orjson.loads(orjson.dumps(body))
        if name in self.down:
            raise SubgraphUnavailable("connection refused")
        result = await self.schemas[url].execute(
            body["query"],
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
            context_value={"store": self.store, "headers": headers},
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [format_error(error) for error in result.errors]
        return orjson.loads(orjson.dumps(response))

    def services_called(self) -> list[str]:
        return [name for name, _, _ in self.calls]


# ---------------------------------------------------------------- the monolith


def monolith(api_schema: GraphQLSchema) -> GraphQLSchema:
    """The API schema, rebuilt on its own, to execute with `monolith_resolver`."""
    return build_schema(print_schema(api_schema))


def _full_product(store: Store, data: dict | None) -> dict | None:
    if data is None:
        return None
    return {**data, "_upc": data["upc"]}


def _full_review(review: dict) -> dict:
    return {**review, "__typename": "Review"}


def _user(store: Store, user_id: str) -> dict:
    return {**store.users[user_id], "__typename": "User"}


_RESOLVERS = {
    ("Query", "me"): lambda store, obj, args: _user(store, "1"),
    ("Query", "user"): lambda store, obj, args: _user(store, args["id"]) if args["id"] in store.users else None,
    ("Query", "whoami"): lambda store, obj, args: None,
    ("Query", "topProducts"): lambda store, obj, args: [_full_product(store, p) for p in store.products[: args.get("first", 5)]],
    ("Query", "product"): lambda store, obj, args: _full_product(store, store.product(args["upc"])),
    ("Query", "search"): lambda store, obj, args: _search(store, args["text"]),
    ("Query", "furnitureByMaterial"): lambda store, obj, args: [
        _full_product(store, p) for p in store.products if p.get("material") == args["material"]
    ],
    ("Query", "warehouseCount"): lambda store, obj, args: 3,
    ("Query", "latestReviews"): lambda store, obj, args: [_full_review(r) for r in reversed(store.reviews)][: args.get("first", 10)],
    ("Mutation", "renameUser"): lambda store, obj, args: _rename(store, args["id"], args["name"]),
    ("Mutation", "addReview"): lambda store, obj, args: _add_review(store, args),
    ("User", "reviews"): lambda store, obj, args: [_full_review(r) for r in store.reviews if r["author"] == obj["id"]],
    ("Book", "reviews"): lambda store, obj, args: [_full_review(r) for r in store.reviews if r["product"] == obj["upc"]],
    ("Furniture", "reviews"): lambda store, obj, args: [_full_review(r) for r in store.reviews if r["product"] == obj["upc"]],
    ("Book", "author"): lambda store, obj, args: _user(store, obj["author"]),
    ("Review", "author"): lambda store, obj, args: _user(store, obj["author"]),
    ("Review", "product"): lambda store, obj, args: _full_product(store, store.product(obj["product"])),
    ("Book", "inStock"): lambda store, obj, args: store.in_stock(obj["upc"]),
    ("Furniture", "inStock"): lambda store, obj, args: store.in_stock(obj["upc"]),
    ("Book", "shippingCost"): lambda store, obj, args: store.shipping_cost(obj["upc"]),
    ("Furniture", "shippingCost"): lambda store, obj, args: store.shipping_cost(obj["upc"]),
}


def _search(store: Store, text: str) -> list[dict]:
    found = []
    for data in store.products:
        if text.lower() in data["name"].lower():
            found.append(_full_product(store, data))
            if data["__typename"] == "Book":
                found.append(_user(store, data["author"]))
    return found


def _rename(store: Store, user_id: str, name: str) -> dict:
    store.users[user_id]["name"] = name
    store.log.append(("accounts", f"renameUser {name}"))
    return _user(store, user_id)


def _add_review(store: Store, args: dict) -> dict:
    review = {"id": f"r{len(store.reviews) + 1}", "body": args["body"], "stars": args["stars"], "author": "1", "product": args["upc"]}
    store.reviews.append(review)
    store.log.append(("reviews", f"addReview {args['body']}"))
    return _full_review(review)


def _monolith_resolver(source, info, **args):
    resolver = _RESOLVERS.get((info.parent_type.name, info.field_name))
    if resolver is not None:
        return resolver(info.context["store"], source, args)
    return source.get(info.field_name) if isinstance(source, dict) else None


async def run_monolith(schema: GraphQLSchema, store: Store, query: str, variables: dict | None = None) -> dict:
    result = await graphql(schema, query, variable_values=variables, context_value={"store": store}, field_resolver=_monolith_resolver)
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [format_error(error) for error in result.errors]
    return orjson.loads(orjson.dumps(response))
