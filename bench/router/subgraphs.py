"""Four federation subgraphs for the gateway benchmark, in the shape of The Guild's
federation benchmark: accounts (users), products (top products), inventory (stock and
shipping, which @requires price and weight) and reviews (reviews of products by users,
@provides the author's username). Everything is computed once at import; the resolvers
only look things up, so the gateway in front of them is what a benchmark measures.

`DEEP_QUERY` walks users -> reviews -> product -> reviews -> author -> reviews -> product
across all four (about 85 KB of JSON); `SMALL_QUERY` is answered by products alone."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from bench.router.executor import TinySchema

FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])\n'

_WORDS = (
    "settlement auction ticker lot spread bid ask quote book fill order market maker trade "
    "volume close open high low tick position custody broker exchange clearing session"
).split()

USERS = [
    {"__typename": "User", "id": str(i), "name": f"Trader {i}", "username": f"trader{i}", "birthday": 1_000_000 + i * 86_400}
    for i in range(1, 9)
]
PRODUCTS = [
    {"__typename": "Product", "upc": str(i), "name": name, "price": price, "weight": weight}
    for i, (name, price, weight) in enumerate(
        [
            ("Table", 899, 100), ("Couch", 1299, 1000), ("Glass", 15, 20), ("Chair", 499, 100), ("TV", 1299, 1000),
            ("Lamp", 6999, 300), ("Grill", 3999, 2000), ("Fridge", 100000, 6000), ("Sofa", 9999, 800),
        ],
        start=1,
    )
]


def _body(n: int) -> str:
    """A deterministic review text of 40-100 characters."""
    words, i = [], n
    while sum(len(w) + 1 for w in words) < 40 + (n * 37) % 60:
        words.append(_WORDS[(i * 7 + len(words) * 3) % len(_WORDS)])
        i += 1
    return " ".join(words).capitalize() + "."


# Three reviews per product, written by the users in turn.
REVIEWS = [
    {
        "__typename": "Review",
        "id": str(n),
        "body": _body(n),
        "author": {"__typename": "User", "id": USERS[n % len(USERS)]["id"], "username": USERS[n % len(USERS)]["username"]},
        "product": {"__typename": "Product", "upc": product["upc"]},
    }
    for n, product in enumerate((p for p in PRODUCTS for _ in range(3)), start=1)
]

USERS_BY_ID = {user["id"]: user for user in USERS}
PRODUCTS_BY_UPC = {product["upc"]: product for product in PRODUCTS}
REVIEWS_BY_ID = {review["id"]: review for review in REVIEWS}
# The reviews subgraph's view of users and products: only the reviews field it adds.
REVIEWED_USERS = {
    user["id"]: {"__typename": "User", "id": user["id"], "username": user["username"],
                 "reviews": [r for r in REVIEWS if r["author"]["id"] == user["id"]]}
    for user in USERS
}
REVIEWED_PRODUCTS = {
    product["upc"]: {"__typename": "Product", "upc": product["upc"], "reviews": [r for r in REVIEWS if r["product"]["upc"] == product["upc"]]}
    for product in PRODUCTS
}
# Within the reviews subgraph, a review's author and product are its own User and Product
# (cycles are fine: a query walks only what it selects).
for _review in REVIEWS:
    _review["author"] = REVIEWED_USERS[_review["author"]["id"]]
    _review["product"] = REVIEWED_PRODUCTS[_review["product"]["upc"]]


@dataclass(frozen=True)
class BenchSubgraph:
    name: str
    sdl: str
    schema: TinySchema


def _entities(lookup: Callable[[dict], Any]) -> Callable[[dict, dict], list]:
    def resolve(_: dict, args: dict) -> list:
        representations = args.get("representations")
        if not isinstance(representations, list):
            raise ValueError("_entities needs a list of representations.")
        return [lookup(r) if isinstance(r, dict) else None for r in representations]

    return resolve


def _root(sdl: str, entity: Callable[[dict], Any], **fields: Callable[[dict, dict], Any]) -> dict:
    return {"_service": lambda _, __: {"__typename": "_Service", "sdl": sdl}, "_entities": _entities(entity), **fields}


def _by_key(table: dict[str, dict], typename: str, key: str) -> Callable[[dict], Any]:
    def lookup(representation: dict) -> Any:
        return table.get(representation.get(key)) if representation.get("__typename") == typename else None

    return lookup


ACCOUNTS_SDL = FEDERATION + """
type Query {
  me: User
  user(id: ID!): User
  users: [User]
}

type User @key(fields: "id") {
  id: ID!
  name: String
  username: String @shareable
  birthday: Int
}
"""

PRODUCTS_SDL = FEDERATION + """
type Query {
  topProducts(first: Int = 5): [Product]
}

type Product @key(fields: "upc") {
  upc: String!
  name: String
  price: Int
  weight: Int
}
"""

INVENTORY_SDL = FEDERATION + """
type Product @key(fields: "upc") {
  upc: String!
  weight: Int @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}
"""

REVIEWS_SDL = FEDERATION + """
type Review @key(fields: "id") {
  id: ID!
  body: String
  author: User @provides(fields: "username")
  product: Product
}

type User @key(fields: "id") {
  id: ID!
  username: String @external
  reviews: [Review]
}

type Product @key(fields: "upc") {
  upc: String!
  reviews: [Review]
}
"""


def _inventory_product(representation: dict) -> dict | None:
    """Stock and shipping from the representation alone (price and weight are @required)."""
    upc = representation.get("upc")
    if representation.get("__typename") != "Product" or not isinstance(upc, str):
        return None
    price, weight = representation.get("price"), representation.get("weight")
    estimate = None
    if isinstance(price, int) and isinstance(weight, int):
        estimate = 0 if price > 1000 else weight // 2  # expensive things ship free
    return {"__typename": "Product", "upc": upc, "inStock": upc in PRODUCTS_BY_UPC and int(upc) % 3 != 0, "shippingEstimate": estimate}


def _top_products(_: dict, args: dict) -> list:
    first = args.get("first", 5)
    if not isinstance(first, int) or first < 0:
        raise ValueError("first must be a non-negative Int.")
    return PRODUCTS[:first]


def _user(_: dict, args: dict) -> Any:
    return USERS_BY_ID.get(args.get("id"))


def _reviews_entity(representation: dict) -> dict | None:
    typename = representation.get("__typename")
    if typename == "Product":
        return REVIEWED_PRODUCTS.get(representation.get("upc"))
    table = {"User": REVIEWED_USERS, "Review": REVIEWS_BY_ID}.get(typename)
    return table.get(representation.get("id")) if table is not None else None


_ENTITY = {"_Entity": {"User", "Product", "Review"}}

SUBGRAPHS = {
    "accounts": BenchSubgraph("accounts", ACCOUNTS_SDL, TinySchema(
        {"Query": _root(ACCOUNTS_SDL, _by_key(USERS_BY_ID, "User", "id"), users=lambda _, __: USERS, me=lambda _, __: USERS[0], user=_user)},
        _ENTITY,
    )),
    "products": BenchSubgraph("products", PRODUCTS_SDL, TinySchema(
        {"Query": _root(PRODUCTS_SDL, _by_key(PRODUCTS_BY_UPC, "Product", "upc"), topProducts=_top_products)}, _ENTITY
    )),
    "inventory": BenchSubgraph("inventory", INVENTORY_SDL, TinySchema({"Query": _root(INVENTORY_SDL, _inventory_product)}, _ENTITY)),
    "reviews": BenchSubgraph("reviews", REVIEWS_SDL, TinySchema({"Query": _root(REVIEWS_SDL, _reviews_entity)}, _ENTITY)),
}

DEEP_QUERY = """
fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }

query Deep {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
      }
    }
  }
  topProducts {
    ...Product
    reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
  }
}
"""

SMALL_QUERY = "query Small { topProducts(first: 5) { upc name price } }"
