"""The subgraphs' direct path (mybroker.graphql_direct) answers exactly what Strawberry
would: every request below goes once down the direct path and once through Strawberry
alone (the same endpoint with the direct path switched off), and the status and JSON body
must agree. The plain requests must also really take the direct path (Strawberry's view
never runs for them), and everything unusual must really be left to Strawberry."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import orjson
import pytest
import strawberry

from mybroker.auth import internal_headers
from mybroker.errors import DomainError, ErrorCode
from mybroker.graphql import MAX_STRING_ARGUMENT, SubgraphGraphQL, federation_schema

SECRET = "s" * 32
LONG = "x" * (MAX_STRING_ARGUMENT + 1)


@strawberry.type
class Strict:
    @strawberry.field
    def value(self) -> int:
        raise DomainError(ErrorCode.NOT_FOUND, "Não encontrado (not found).")


@strawberry.federation.type(keys=["id"])
class Thing:
    id: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Thing:
        return Thing(id=id, name=f"thing {id}")


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, info: strawberry.Info) -> str:
        return f"olá {info.context.caller.user_id or 'anônimo'}"

    @strawberry.field
    def square(self, n: int) -> int:
        return n * n

    @strawberry.field
    async def money(self, amount: Decimal = Decimal("10.5")) -> Decimal:
        return amount * 2

    @strawberry.field
    def echo(self, text: str) -> str:
        return text

    @strawberry.field
    def refuse(self) -> str:
        raise DomainError(ErrorCode.INSUFFICIENT_FUNDS, "Saldo insuficiente (not enough cash).")

    @strawberry.field
    def crash(self) -> str:
        raise RuntimeError("a bug")

    @strawberry.field
    def strict(self) -> Strict:
        return Strict()

    @strawberry.field
    def things(self) -> list[Thing]:
        return [Thing(id=strawberry.ID("1"), name="one"), Thing(id=strawberry.ID("2"), name="two")]


@strawberry.type
class Mutation:
    @strawberry.mutation
    def bump(self, by: int = 1) -> int:
        return by + 1


SCHEMA = federation_schema(query=Query, mutation=Mutation, types=[Thing])

PLAIN = {
    "field": {"query": "{ hello }"},
    "named, with variables": {"query": "query Q($n: Int!) { square(n: $n) }", "variables": {"n": 7}, "operationName": "Q"},
    "variables of the wrong type": {"query": "query($n: Int!) { square(n: $n) }", "variables": {"n": "x"}},
    "a variable missing": {"query": "query($n: Int!) { square(n: $n) }", "variables": {}},
    "null variables": {"query": "{ square(n: 3) }", "variables": None},
    "decimal": {"query": '{ money(amount: "1.25") a: money }'},
    "a domain error": {"query": "{ hello refuse }"},
    "an unexpected error": {"query": "{ hello crash }"},
    "a non-null error bubbling": {"query": "{ hello strict { value } }"},
    "a list": {"query": "{ things { id name } }"},
    "entities": {
        "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Thing { id name } } }",
        "variables": {"r": [{"__typename": "Thing", "id": "7"}]},
    },
    "a mutation": {"query": "mutation { bump(by: 41) }"},
    "typename": {"query": "{ __typename }"},
    "a fragment": {"query": "query { ...F } fragment F on Query { hello }"},
    "unicode": {"query": '{ echo(text: "ação 😀") }'},
}
LEFT_TO_STRAWBERRY = {
    "a syntax error": {"query": "{ hello "},
    "a validation error": {"query": "{ nope }"},
    "two operations, one named": {"query": "query A { hello } query B { square(n: 2) }", "operationName": "B"},
    "two operations, none named": {"query": "query A { hello } query B { square(n: 2) }"},
    "an unknown operation name": {"query": "query A { hello }", "operationName": "Z"},
    "a long literal": {"query": '{ echo(text: "%s") }' % LONG},
    "a long variable": {"query": "query($t: String!) { echo(text: $t) }", "variables": {"t": LONG}},
    "the SDL without the secret": {"query": "{ _service { sdl } }"},
    "introspection without the secret": {"query": "{ __schema { queryType { name } } }"},
    "a subscription": {"query": "subscription { nothing }"},
    "extensions": {"query": "{ hello }", "extensions": {"persistedQuery": {"version": 1}}},
    "no query": {"variables": {}},
    "an empty query": {"query": ""},
    "variables not an object": {"query": "{ hello }", "variables": [1]},
    "a batch": [{"query": "{ hello }"}],
}


async def call(endpoint: SubgraphGraphQL, body: bytes, headers: dict[str, str], method: str = "POST"):
    """(status, headers, body) of one request to the ASGI endpoint, sent in two chunks so
    the body reading is exercised."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 4003),
    }
    half = len(body) // 2
    chunks = [
        {"type": "http.request", "body": body[:half], "more_body": True},
        {"type": "http.request", "body": body[half:], "more_body": False},
    ]

    async def receive():
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message):
        sent.append(message)

    await endpoint(scope, receive, send)
    start = sent[0]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict((k.decode(), v.decode()) for k, v in start["headers"]), payload


def comparable(payload: bytes) -> Any:
    """The JSON value with the per-error request ids (fresh on every error) masked."""
    text = re.sub(r"[0-9a-f]{12}", "<id>", payload.decode()) if b"requestId" in payload else payload.decode()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def endpoints(monkeypatch) -> tuple[SubgraphGraphQL, SubgraphGraphQL, list[str]]:
    """(with the direct path, Strawberry alone, the calls Strawberry's view saw)."""
    direct = SubgraphGraphQL(SCHEMA, service=None, internal_secret=SECRET)
    strawberry_only = SubgraphGraphQL(SCHEMA, service=None, internal_secret=SECRET)
    strawberry_only.direct = None
    seen: list[str] = []
    run = direct.run

    async def counting_run(request, *args, **kwargs):
        seen.append(request.method)
        return await run(request, *args, **kwargs)

    monkeypatch.setattr(direct, "run", counting_run)
    return direct, strawberry_only, seen


JSON = {"content-type": "application/json", "accept": "application/json"}


@pytest.mark.parametrize("body", PLAIN.values(), ids=PLAIN.keys())
@pytest.mark.parametrize("caller", ["router", "anonymous"])
async def test_plain_requests_take_the_direct_path_with_the_same_answer(monkeypatch, body, caller):
    direct, strawberry_only, seen = endpoints(monkeypatch)
    headers = {**JSON, **(internal_headers(SECRET, user_id="u-1") if caller == "router" else {})}
    raw = orjson.dumps(body)
    fast = await call(direct, raw, headers)
    slow = await call(strawberry_only, raw, headers)
    assert seen == [], "Strawberry's view answered a plain request"
    assert fast[0] == slow[0] == 200
    assert fast[1]["content-type"] == slow[1]["content-type"] == "application/json"
    assert int(fast[1]["content-length"]) == len(fast[2])
    assert comparable(fast[2]) == comparable(slow[2])


@pytest.mark.parametrize("body", LEFT_TO_STRAWBERRY.values(), ids=LEFT_TO_STRAWBERRY.keys())
async def test_unusual_requests_are_left_to_strawberry(monkeypatch, body):
    direct, strawberry_only, seen = endpoints(monkeypatch)
    raw = orjson.dumps(body)
    fast = await call(direct, raw, JSON)
    slow = await call(strawberry_only, raw, JSON)
    assert seen == ["POST"], "the direct path answered a request it should leave to Strawberry"
    assert fast[0] == slow[0]
    assert comparable(fast[2]) == comparable(slow[2])


@pytest.mark.parametrize(
    "headers, raw",
    [
        ({"content-type": "application/json"}, b"{not json"),
        ({"content-type": "application/graphql+json", "accept": "application/json"}, orjson.dumps({"query": "{ hello }"})),
        ({**JSON, "accept": "multipart/mixed"}, orjson.dumps({"query": "{ hello }"})),
        ({**JSON, "accept": "application/graphql-response+json"}, orjson.dumps({"query": "{ hello }"})),
    ],
    ids=["not JSON", "another content type", "multipart accepted", "another media asked"],
)
async def test_other_media_and_broken_bodies_are_left_to_strawberry(monkeypatch, headers, raw):
    direct, strawberry_only, seen = endpoints(monkeypatch)
    fast = await call(direct, raw, headers)
    slow = await call(strawberry_only, raw, headers)
    assert len(seen) == 1
    assert fast[0] == slow[0]
    assert comparable(fast[2]) == comparable(slow[2])


async def test_the_sdl_with_the_secret_takes_the_direct_path(monkeypatch):
    direct, strawberry_only, seen = endpoints(monkeypatch)
    raw = orjson.dumps({"query": "{ _service { sdl } }"})
    headers = {**JSON, **internal_headers(SECRET)}
    fast = await call(direct, raw, headers)
    slow = await call(strawberry_only, raw, headers)
    assert seen == []
    assert comparable(fast[2]) == comparable(slow[2])
    assert "@key" in orjson.loads(fast[2])["data"]["_service"]["sdl"]


async def test_a_schema_with_extensions_of_its_own_goes_through_strawberry_alone():
    from strawberry.extensions import MaxTokensLimiter

    schema = federation_schema(query=Query, extensions=[MaxTokensLimiter(max_token_count=3)])
    endpoint = SubgraphGraphQL(schema, service=None, internal_secret=SECRET)
    assert endpoint.direct is None
    status, _, payload = await call(endpoint, orjson.dumps({"query": "{ hello square(n: 2) }"}), JSON)
    assert status == 200 and "errors" in orjson.loads(payload)  # the extension's refusal


async def test_a_client_that_leaves_mid_body_gets_nothing(monkeypatch):
    direct, _, seen = endpoints(monkeypatch)
    sent: list[dict] = []
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [(b"content-type", b"application/json")], "query_string": b""}
    messages = [{"type": "http.request", "body": b'{"query"', "more_body": True}, {"type": "http.disconnect"}]

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    await direct(scope, receive, send)
    assert sent == [] and seen == []
