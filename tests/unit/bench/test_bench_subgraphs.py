"""The benchmark's subgraphs answer like real federation subgraphs: the deep query through
our router gives exactly the answer the data implies, the tiny executor handles what
gateways send, and bad requests get GraphQL errors, never a crash."""
from __future__ import annotations

import orjson
import pytest

from bench.router.server import create_app
from bench.router.subgraphs import (
    DEEP_QUERY,
    PRODUCTS,
    PRODUCTS_BY_UPC,
    REVIEWS,
    SMALL_QUERY,
    SUBGRAPHS,
    USERS,
    USERS_BY_ID,
)
from router.compose import SubgraphDef, compose
from router.executor import Executor
from router.limits import OperationLimits
from router.pipeline import GraphQLRequest, RouterPipeline
from router.supergraph import Supergraph


class TinyClient:
    """Sends each subgraph request through a JSON round trip to the bench schemas."""

    def __init__(self):
        self.calls: list[str] = []

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        name = url.split("//")[1].split(".")[0]
        self.calls.append(name)
        body = orjson.loads(orjson.dumps(body))
        return orjson.loads(orjson.dumps(SUBGRAPHS[name].schema.execute(body["query"], body.get("variables"), body.get("operationName"))))


@pytest.fixture(scope="module")
def supergraph() -> Supergraph:
    return Supergraph.from_sdl(compose([SubgraphDef(n, f"http://{n}.bench/graphql", s.sdl) for n, s in SUBGRAPHS.items()]))


async def _through_router(supergraph: Supergraph, query: str, client: TinyClient | None = None) -> dict:
    client = client or TinyClient()
    urls = {name: f"http://{name}.bench/graphql" for name in SUBGRAPHS}
    # As the bench runs it (bench/router/compare.py): no cost limit, like the peers.
    limits = OperationLimits(max_cost=None, max_cost_anonymous=None)
    outcome = await RouterPipeline(supergraph, Executor(client, urls), limits=limits).execute(GraphQLRequest(query), {})
    return outcome.body


# The answer the data implies, built without GraphQL.
def _user(user_id: str) -> dict:
    user = USERS_BY_ID[user_id]
    return {"id": user["id"], "username": user["username"], "name": user["name"]}


def _product(upc: str) -> dict:
    product = PRODUCTS_BY_UPC[upc]
    return {
        "inStock": int(upc) % 3 != 0, "name": product["name"], "price": product["price"],
        "shippingEstimate": 0 if product["price"] > 1000 else product["weight"] // 2, "upc": upc, "weight": product["weight"],
    }


def _reviews_by(user_id: str) -> list[dict]:
    return [r for r in REVIEWS if r["author"]["id"] == user_id]


def _reviews_of(upc: str) -> list[dict]:
    return [r for r in REVIEWS if r["product"]["upc"] == upc]


def _review(review: dict, **more) -> dict:
    return {"id": review["id"], "body": review["body"], **more}


def _author_with_reviews(user_id: str) -> dict:
    return {**_user(user_id), "reviews": [_review(r, product=_product(r["product"]["upc"])) for r in _reviews_by(user_id)]}


def _expected_deep() -> dict:
    return {
        "users": [
            {**_user(user["id"]), "reviews": [
                _review(r, product={**_product(r["product"]["upc"]), "reviews": [
                    _review(r2, author=_author_with_reviews(r2["author"]["id"])) for r2 in _reviews_of(r["product"]["upc"])
                ]})
                for r in _reviews_by(user["id"])
            ]}
            for user in USERS
        ],
        "topProducts": [
            {**_product(p["upc"]), "reviews": [_review(r, author=_author_with_reviews(r["author"]["id"])) for r in _reviews_of(p["upc"])]}
            for p in PRODUCTS[:5]
        ],
    }


async def test_the_deep_query_through_our_router_is_the_answer_the_data_implies(supergraph):
    client = TinyClient()
    body = await _through_router(supergraph, DEEP_QUERY, client)
    assert "errors" not in body
    assert body["data"] == _expected_deep()
    assert set(client.calls) == {"accounts", "products", "inventory", "reviews"}
    assert 40_000 < len(orjson.dumps(body)) < 200_000  # tens of KB, like The Guild's benchmark


async def test_the_small_query_needs_one_subgraph(supergraph):
    client = TinyClient()
    body = await _through_router(supergraph, SMALL_QUERY, client)
    assert body == {"data": {"topProducts": [{"upc": p["upc"], "name": p["name"], "price": p["price"]} for p in PRODUCTS[:5]]}}
    assert client.calls == ["products"]


def test_entities_answer_any_representation_and_null_for_unknown_ones():
    query = """query ($r: [_Any!]!) { _entities(representations: $r) {
      __typename ... on Product { upc inStock shippingEstimate } } }"""
    representations = [
        {"__typename": "Product", "upc": "2", "price": 10, "weight": 30},  # not the catalogue's price: the representation rules
        {"__typename": "Product", "upc": "404", "price": 5000, "weight": 1},
        {"__typename": "Nope", "upc": "1"},
    ]
    answer = SUBGRAPHS["inventory"].schema.execute(query, {"r": representations})
    assert answer == {"data": {"_entities": [
        {"__typename": "Product", "upc": "2", "inStock": True, "shippingEstimate": 15},
        {"__typename": "Product", "upc": "404", "inStock": False, "shippingEstimate": 0},
        None,
    ]}}


def test_the_executor_handles_aliases_fragments_and_conditional_fields():
    query = """
    query Q($skip: Boolean!, $n: Int) {
      first: topProducts(first: $n) { ...P  upc @skip(if: $skip)  kind: __typename }
      again: topProducts(first: 1) { ... on Product { name } }
    }
    fragment P on Product { name }
    """
    schema = SUBGRAPHS["products"].schema
    assert schema.execute(query, {"skip": True, "n": 2}, "Q") == {"data": {
        "first": [{"name": "Table", "kind": "Product"}, {"name": "Couch", "kind": "Product"}],
        "again": [{"name": "Table"}],
    }}
    assert schema.execute(query, {"skip": False, "n": 1}, "Q")["data"]["first"] == [{"name": "Table", "upc": "1", "kind": "Product"}]


@pytest.mark.parametrize(
    "query, variables, operation, message",
    [
        ("{ topProducts(", None, None, "Syntax error"),
        (None, None, None, "no query string"),
        ("query A { users { id } } query B { users { id } }", None, None, "Unknown operation"),
    ],
)
def test_requests_that_cannot_run_get_an_error(query, variables, operation, message):
    answer = SUBGRAPHS["accounts"].schema.execute(query, variables, operation)
    assert "data" not in answer and message in answer["errors"][0]["message"]


def test_a_resolver_refusal_is_a_field_error_with_its_path():
    answer = SUBGRAPHS["products"].schema.execute("{ topProducts(first: -1) { upc } }")
    assert answer == {"data": {"topProducts": None}, "errors": [{"message": "first must be a non-negative Int.", "path": ["topProducts"]}]}
    answer = SUBGRAPHS["reviews"].schema.execute('{ _entities(representations: "x") { __typename } }')
    assert answer["data"] == {"_entities": None} and answer["errors"][0]["path"] == ["_entities"]


async def _call(app, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": method, "path": path}, receive, send)
    return sent[0]["status"], sent[1]["body"]


async def test_the_server_answers_graphql_health_and_bad_bodies():
    app = create_app(SUBGRAPHS["products"])
    request = orjson.dumps({"query": SMALL_QUERY})
    status, body = await _call(app, "POST", "/graphql", request)
    assert status == 200 and orjson.loads(body)["data"]["topProducts"][0]["name"] == "Table"
    assert await _call(app, "POST", "/graphql", request) == (200, body)  # memoised: the same bytes
    assert (await _call(app, "GET", "/health"))[0] == 200
    status, body = await _call(app, "POST", "/graphql", b"{not json")
    assert status == 400 and "not valid JSON" in orjson.loads(body)["errors"][0]["message"]
    status, body = await _call(app, "POST", "/graphql", b"[1]")
    assert status == 400 and "JSON object" in orjson.loads(body)["errors"][0]["message"]
    assert (await _call(app, "GET", "/elsewhere"))[0] == 404


def test_the_sdl_is_served_as_written():
    for subgraph in SUBGRAPHS.values():
        assert subgraph.schema.execute("{ _service { sdl } }") == {"data": {"_service": {"sdl": subgraph.sdl}}}


def test_bench_flags_a_benchmark_does_not_take_are_refused():
    from launch.cli import main

    with pytest.raises(SystemExit, match="does not take --clients"):
        main(["bench", "matching", "--clients", "5"])
