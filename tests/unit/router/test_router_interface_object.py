"""@interfaceObject: a subgraph that sees an entity interface as one object type.

"a" has the interface Account and its object types; "b" adds `Account.name` through an
@interfaceObject and serves `accounts`. Objects from "b" get their runtime type from "a";
objects sent to "b" are named by the interface there."""
from __future__ import annotations

from graphql import parse

from router.executor import Executor
from router.planner import plan
from router.supergraph import Supergraph

SUPERGRAPH = """schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { A @join__graph(name: "a", url: "http://a") B @join__graph(name: "b", url: "http://b") }
interface Account @join__type(graph: A, key: "id") @join__type(graph: B, key: "id", isInterfaceObject: true) {
  id: ID!
  name: String! @join__field(graph: B)
  title: String @join__field(graph: A) @join__field(graph: B, external: true)
  greeting: String @join__field(graph: B, requires: "title")
}
type Admin implements Account @join__implements(graph: A, interface: "Account") @join__type(graph: A, key: "id") {
  id: ID!
  isMain: Boolean!
  name: String! @join__field
  title: String
  greeting: String @join__field
}
type Query @join__type(graph: A) @join__type(graph: B) {
  accounts: [Account] @join__field(graph: B)
  admins: [Admin] @join__field(graph: A)
}
"""


def test_objects_from_the_interface_object_subgraph_get_their_type_from_the_interfaces_subgraph():
    query_plan = plan(Supergraph.from_sdl(SUPERGRAPH), parse("{ accounts { id name ... on Admin { isMain } } }"))
    root, types = query_plan.fetches()
    assert root.service == "b" and "Admin" not in root.operation
    assert types.service == "a"
    assert "...on Account{__typename ...on Admin{isMain}}" in types.operation
    assert types.representation_typenames == ()


class Stub:
    def __init__(self) -> None:
        self.bodies: dict[str, dict] = {}

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        self.bodies[url] = body
        if url == "http://a":
            return {"data": {"admins": [{"__typename": "Admin", "id": "1"}]}}
        return {"data": {"_entities": [{"name": "Ada"}]}}


async def test_objects_sent_to_the_interface_object_subgraph_are_named_by_the_interface():
    supergraph = Supergraph.from_sdl(SUPERGRAPH)
    query_plan = plan(supergraph, parse("{ admins { name } }"))
    root, names = query_plan.fetches()
    assert (root.service, names.service) == ("a", "b")
    assert "...on Account{name}" in names.operation
    client = Stub()
    state = await Executor(client, {"a": "http://a", "b": "http://b"}).execute(query_plan, {}, {})
    assert client.bodies["http://b"]["variables"]["representations"] == [{"__typename": "Account", "id": "1"}]
    assert state.data["admins"][0]["name"] == "Ada"


def test_a_requires_of_the_interface_object_applies_to_the_interfaces_object_types():
    query_plan = plan(Supergraph.from_sdl(SUPERGRAPH), parse("{ admins { greeting } }"))
    root, greetings = query_plan.fetches()
    assert "title" in root.operation
    assert [(f.type_condition, [s.name for s in f.selections]) for f in greetings.requires] == [
        ("Account", ["__typename", "id", "title"]),
        ("Admin", ["__typename", "id", "title"]),
    ]
    assert greetings.representation_typenames == (("Admin", "Account"),)


class AccountsStub:
    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        return {"data": {"accounts": [{"__typename": "Account", "id": "1", "name": "Ada"}]}}


async def test_without_type_specific_selections_the_interface_objects_answer_is_enough():
    from router.pipeline import GraphQLRequest, RouterPipeline

    supergraph = Supergraph.from_sdl(SUPERGRAPH)
    assert [f.service for f in plan(supergraph, parse("{ accounts { id name } }")).fetches()] == ["b"]
    pipeline = RouterPipeline(supergraph, Executor(AccountsStub(), {"a": "http://a", "b": "http://b"}))
    outcome = await pipeline.execute(GraphQLRequest("{ accounts { id name } }"), {})
    assert outcome.body == {"data": {"accounts": [{"id": "1", "name": "Ada"}]}}
