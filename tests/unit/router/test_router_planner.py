"""Query plans as data: shapes for root splits, entity jumps, lists, abstract types,
aliases, variables, directives and mutations; every subgraph operation is valid against
the subgraph it is sent to."""
from __future__ import annotations

import pytest
from graphql import parse, validate
from .router_fixture_subgraphs import SCHEMAS

from router.compose import SubgraphDef, compose
from router.plan import FetchNode, FlattenNode, ParallelNode, SequenceNode
from router.planner import plan
from router.supergraph import Supergraph


def plan_of(supergraph, query: str, operation_name: str | None = None):
    return plan(supergraph, parse(query), operation_name)


def shape(node) -> object:
    """The plan's structure with services and paths only."""
    if isinstance(node, FetchNode):
        return node.service
    if isinstance(node, FlattenNode):
        return ("Flatten", ".".join(node.path), node.node.service)
    if isinstance(node, SequenceNode):
        return ["Sequence", *(shape(n) for n in node.nodes)]
    if isinstance(node, ParallelNode):
        return ["Parallel", *sorted((shape(n) for n in node.nodes), key=repr)]
    return node


def assert_valid_for_subgraphs(query_plan) -> None:
    for fetch in query_plan.fetches():
        errors = validate(SCHEMAS[fetch.service]._schema, parse(fetch.operation))
        assert errors == [], (fetch.service, fetch.operation, errors)


def test_root_fields_split_by_subgraph_run_in_parallel(supergraph):
    query_plan = plan_of(supergraph, "{ me { name } topProducts { name } warehouseCount }")
    assert shape(query_plan.node) == ["Parallel", "accounts", "inventory", "products"]
    assert_valid_for_subgraphs(query_plan)


def test_entity_jump_adds_key_and_typename_to_the_parent(supergraph):
    query_plan = plan_of(supergraph, "{ me { name reviews { body } } }")
    assert shape(query_plan.node) == ["Sequence", "accounts", ("Flatten", "me", "reviews")]
    root, flatten = query_plan.fetches()
    assert root.operation == "{me{__typename name id}}"
    assert flatten.operation == (
        "query($representations:[_Any!]!){_entities(representations:$representations){...on User{reviews{body}}}}"
    )
    assert flatten.entity_types == frozenset({"User"})
    assert_valid_for_subgraphs(query_plan)


def test_pretty_is_apollo_style(supergraph):
    text = plan_of(supergraph, "{ me { reviews { body } } }").pretty()
    assert text == '''QueryPlan {
  Sequence {
    Fetch(service: "accounts") {
      {
        me {
          __typename
          id
        }
      }
    },
    Flatten(path: "me") {
      Fetch(service: "reviews") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            reviews {
              body
            }
          }
        }
      },
    },
  }
}'''


def test_nested_jumps_through_lists(supergraph):
    query_plan = plan_of(
        supergraph, "{ me { reviews { body product { ... on Book { name author { name } } } } } }"
    )
    assert shape(query_plan.node) == [
        "Sequence",
        "accounts",
        ("Flatten", "me", "reviews"),
        ("Flatten", "me.reviews.@.product", "products"),
        ("Flatten", "me.reviews.@.product.author", "accounts"),
    ]
    assert_valid_for_subgraphs(query_plan)


def test_sibling_jumps_from_one_group_run_in_parallel(supergraph):
    query_plan = plan_of(supergraph, "{ topProducts { name inStock ... on Book { author { name } } } }")
    assert shape(query_plan.node) == [
        "Sequence",
        "products",
        ["Parallel", ("Flatten", "topProducts.@", "inventory"), ("Flatten", "topProducts.@.author", "accounts")],
    ]


def test_interface_field_another_subgraph_resolves_is_planned_per_type(supergraph):
    query_plan = plan_of(supergraph, "fragment P on Product { name inStock } { topProducts { upc ...P } }")
    products, inventory = query_plan.fetches()
    assert products.operation == "{topProducts{__typename upc name ...on Book{__typename upc} ...on Furniture{__typename upc}}}"
    assert "...on Book{inStock} ...on Furniture{inStock}" in inventory.operation
    assert inventory.entity_types == frozenset({"Book", "Furniture"})
    assert_valid_for_subgraphs(query_plan)


def test_union_members_jump_to_their_own_subgraphs(supergraph):
    query_plan = plan_of(
        supergraph, "{ search(text: \"a\") { ... on User { name } ... on Book { name reviews { stars } } ... on Furniture { material } } }"
    )
    assert shape(query_plan.node) == [
        "Sequence",
        "products",
        ["Parallel", ("Flatten", "search.@", "accounts"), ("Flatten", "search.@", "reviews")],
    ]
    assert_valid_for_subgraphs(query_plan)


def test_fragment_on_abstract_type_unknown_to_the_subgraph_is_spelled_out(supergraph):
    # reviews does not know the Product interface: the condition becomes its object types.
    query_plan = plan_of(supergraph, "{ latestReviews { product { ... on Product { name inStock } } } }")
    reviews = query_plan.fetches()[0]
    assert "Product" not in reviews.operation
    assert "...on Book{__typename upc}" in reviews.operation
    assert_valid_for_subgraphs(query_plan)


def test_aliases_are_kept_in_subgraph_operations_and_paths(supergraph):
    query_plan = plan_of(supergraph, "{ a: topProducts(first: 1) { n: name inStock } b: topProducts { name } }")
    products = query_plan.fetches()[0]
    assert products.operation.startswith("{a: topProducts(first: 1){__typename n: name ")
    assert " b: topProducts{__typename name}" in products.operation
    assert ("Flatten", "a.@", "inventory") in shape(query_plan.node)
    assert_valid_for_subgraphs(query_plan)


def test_each_fetch_declares_only_the_variables_it_uses(supergraph):
    query = """
      query Shop($first: Int = 2, $withStock: Boolean!, $upc: ID!, $text: String!) {
        topProducts(first: $first) { name inStock @include(if: $withStock) }
        product(upc: $upc) { name }
        search(text: $text) { __typename }
      }
    """
    query_plan = plan_of(supergraph, query)
    products, inventory = query_plan.fetches()
    assert products.operation.startswith("query Shop__products__0($first: Int = 2,$upc: ID!,$text: String!)")
    assert products.variable_usages == ("first", "upc", "text")
    assert inventory.operation.startswith("query Shop__inventory__1($representations:[_Any!]!,$withStock: Boolean!)")
    assert "inStock @include(if: $withStock)" in inventory.operation
    assert inventory.variable_usages == ("withStock",)
    assert_valid_for_subgraphs(query_plan)


def test_skip_and_include_are_forwarded(supergraph):
    query_plan = plan_of(
        supergraph, "query($s: Boolean!) { me @skip(if: $s) { name } topProducts { ... @include(if: $s) { name } } }"
    )
    operations = {f.service: f.operation for f in query_plan.fetches()}
    assert "me @skip(if: $s){name}" in operations["accounts"]
    assert "... @include(if: $s){name}" in operations["products"]


def test_typename_and_introspection_at_the_root_need_no_fetch(supergraph):
    assert plan_of(supergraph, "{ __typename }").node is None
    assert plan_of(supergraph, "{ __schema { queryType { name } } }").node is None
    query_plan = plan_of(supergraph, "{ __typename me { __typename name } }")
    assert query_plan.fetches()[0].operation == "{me{__typename name}}"


def test_mutations_run_in_order_one_fetch_per_run_of_a_subgraph(supergraph):
    query_plan = plan_of(
        supergraph,
        """mutation {
          a: renameUser(id: "1", name: "A") { name }
          b: renameUser(id: "2", name: "B") { name }
          r: addReview(upc: "1", body: "x", stars: 3) { id author { name } }
          c: renameUser(id: "1", name: "C") { name reviews { body } }
        }""",
    )
    assert shape(query_plan.node) == [
        "Sequence",
        "accounts",
        "reviews",
        ("Flatten", "r.author", "accounts"),
        "accounts",
        ("Flatten", "c", "reviews"),
    ]
    first = query_plan.fetches()[0]
    assert first.operation_kind == "mutation"
    assert first.operation.startswith("mutation{a: renameUser") and "b: renameUser" in first.operation
    assert_valid_for_subgraphs(query_plan)


def test_entities_at_one_path_share_one_fetch(supergraph):
    query_plan = plan_of(supergraph, "{ topProducts { inStock ... on Book { shippingCost } ... on Furniture { shippingCost } } }")
    assert shape(query_plan.node) == ["Sequence", "products", ("Flatten", "topProducts.@", "inventory")]


# ---------------------------------------------------------------- keys through another subgraph


HOP = '@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])'


def test_a_key_the_parent_lacks_is_fetched_through_another_subgraph_first():
    a = SubgraphDef("a", "http://a", f'extend schema {HOP}\ntype User @key(fields: "id") {{ id: ID! }}\ntype Query {{ user: User }}')
    b = SubgraphDef("b", "http://b", f'extend schema {HOP}\ntype User @key(fields: "id") @key(fields: "email") {{ id: ID! email: String! }}')
    c = SubgraphDef("c", "http://c", f'extend schema {HOP}\ntype User @key(fields: "email") {{ email: String! nickname: String }}')
    supergraph = Supergraph.from_sdl(compose([a, b, c]))
    query_plan = plan_of(supergraph, "{ user { nickname } }")
    assert shape(query_plan.node) == ["Sequence", "a", ("Flatten", "user", "b"), ("Flatten", "user", "c")]
    a_fetch, b_fetch, c_fetch = query_plan.fetches()
    assert "...on User{email}" in b_fetch.operation
    assert c_fetch.requires[0].type_condition == "User"


def test_shareable_root_field_prefers_a_subgraph_already_used():
    a = SubgraphDef("a", "http://a", f'extend schema {HOP}\ntype Query {{ version: String @shareable x: Int }}')
    b = SubgraphDef("b", "http://b", f'extend schema {HOP}\ntype Query {{ version: String @shareable y: Int }}')
    supergraph = Supergraph.from_sdl(compose([a, b]))
    assert shape(plan_of(supergraph, "{ y version }").node) == "b"
    assert shape(plan_of(supergraph, "{ x version }").node) == "a"


def test_unplannable_field_raises_a_planning_error():
    from router.errors import PlanningError

    a = SubgraphDef("a", "http://a", f'extend schema {HOP}\ntype T {{ id: ID! @shareable }}\ntype Query {{ t: T }}')
    b = SubgraphDef("b", "http://b", f'extend schema {HOP}\ntype T @key(fields: "id") {{ id: ID! extra: Int }}\ntype Query {{ b: Int }}')
    # T has no key in "a", but "a" resolves T.id, which is b's key: the jump works.
    supergraph = Supergraph.from_sdl(compose([a, b]))
    assert shape(plan_of(supergraph, "{ t { extra } }").node) == ["Sequence", "a", ("Flatten", "t", "b")]
    c = SubgraphDef("c", "http://c", f'extend schema {HOP}\ntype T @key(fields: "code") {{ code: ID! more: Int }}')
    supergraph = Supergraph.from_sdl(compose([a, c]))
    with pytest.raises(PlanningError, match='"T.more"'):
        plan_of(supergraph, "{ t { more } }")



NARROWER_SUPERGRAPH = """schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { A @join__graph(name: "a", url: "http://a") B @join__graph(name: "b", url: "http://b") }
type Book @join__type(graph: A, key: "id") @join__type(graph: B, key: "id") { id: ID! title: String! }
type Song @join__type(graph: A, key: "id") { id: ID! title: String! }
type Movie @join__type(graph: B, key: "id") { id: ID! title: String! }
union Media @join__type(graph: A) @join__type(graph: B) @join__unionMember(graph: A, member: "Book")
  @join__unionMember(graph: A, member: "Song") @join__unionMember(graph: B, member: "Book") @join__unionMember(graph: B, member: "Movie")
  = Book | Song | Movie
type Query @join__type(graph: A) @join__type(graph: B) {
  book: Media @join__field(graph: A, type: "Book") @join__field(graph: B, type: "Media")
}
"""


def test_a_field_narrower_in_a_subgraph_is_planned_on_that_subgraphs_type():
    # "a" returns Book where the supergraph has the union Media: fragments on the other
    # members would not validate there and are dropped from a's operation.
    supergraph = Supergraph.from_sdl(NARROWER_SUPERGRAPH)
    query_plan = plan_of(supergraph, "{ book { ... on Song { title } ... on Movie { title } ... on Book { title } } }")
    (fetch,) = query_plan.fetches()
    assert fetch.service == "a"
    assert "Song" not in fetch.operation and "Movie" not in fetch.operation and "title" in fetch.operation


OVERRIDDEN_SUPERGRAPH = NARROWER_SUPERGRAPH.split("type Book")[0].replace(
    "directive @join__unionMember", "directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE\ndirective @join__unionMember"
) + """interface Post @join__type(graph: A) @join__type(graph: B) { id: ID! createdAt: String! }
type ImagePost implements Post @join__implements(graph: A, interface: "Post") @join__type(graph: A, key: "id") @join__type(graph: B, key: "id") {
  id: ID!
  createdAt: String! @join__field(graph: A, usedOverridden: true) @join__field(graph: B, override: "a")
}
type Query @join__type(graph: A) @join__type(graph: B) { feed: [Post] @join__field(graph: A) }
"""


def test_an_interface_field_an_object_type_overrode_away_is_planned_per_type():
    supergraph = Supergraph.from_sdl(OVERRIDDEN_SUPERGRAPH)
    query_plan = plan_of(supergraph, "{ feed { id createdAt } }")
    assert shape(query_plan.node) == ["Sequence", "a", ("Flatten", "feed.@", "b")]
    assert "createdAt" not in query_plan.fetches()[0].operation


DISTRIBUTED_SUPERGRAPH = OVERRIDDEN_SUPERGRAPH.split("interface Post")[0] + """interface Node @join__type(graph: A) @join__type(graph: B) { id: ID! }
type Oven implements Node @join__implements(graph: B, interface: "Node") @join__type(graph: A, key: "id") @join__type(graph: B, key: "id") { id: ID! }
type Toaster implements Node @join__implements(graph: A, interface: "Node") @join__type(graph: A, key: "id") { id: ID! }
union Product @join__type(graph: A) @join__unionMember(graph: A, member: "Oven") @join__unionMember(graph: A, member: "Toaster") = Oven | Toaster
type Query @join__type(graph: A) @join__type(graph: B) { products: [Product] @join__field(graph: A) nodes: [Node] @join__field(graph: A) }
"""


def test_a_fragment_on_an_interface_some_types_implement_only_elsewhere_is_spelled_out():
    # In "a", Oven does not implement Node: `... on Node` would miss it there.
    supergraph = Supergraph.from_sdl(DISTRIBUTED_SUPERGRAPH)
    (fetch,) = plan_of(supergraph, "{ products { ... on Node { id } } }").fetches()
    assert "...on Oven{id}" in fetch.operation and "...on Toaster{id}" in fetch.operation
    assert "...on Node" not in fetch.operation


def test_a_fragment_no_object_of_the_subgraph_can_match_is_dropped():
    supergraph = Supergraph.from_sdl(DISTRIBUTED_SUPERGRAPH)
    (fetch,) = plan_of(supergraph, "{ nodes { ... on Oven { id } ... on Toaster { id } } }").fetches()
    assert "Oven" not in fetch.operation and "...on Toaster{id}" in fetch.operation


MISMATCH_SUPERGRAPH = OVERRIDDEN_SUPERGRAPH.split("interface Post")[0] + """type User @join__type(graph: A, key: "id") { id: ID @join__field(graph: A, type: "ID!") name: String }
type Admin @join__type(graph: A) { id: ID name: String }
union Account @join__type(graph: A) @join__unionMember(graph: A, member: "User") @join__unionMember(graph: A, member: "Admin") = User | Admin
type Query @join__type(graph: A) { accounts: [Account!]! }
"""


class _AccountsStub:
    def __init__(self) -> None:
        self.operation = ""

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        self.operation = body["query"]
        return {"data": {"accounts": [
            {"__typename": "User", "id": "u1", "name": "U"},
            {"__typename": "Admin", "_Admin_id_typed": "a1", "name": "A"},
        ]}}


async def test_one_response_key_with_two_types_in_a_subgraph_is_aliased_and_read_back():
    from router.executor import Executor
    from router.pipeline import GraphQLRequest, RouterPipeline

    client = _AccountsStub()
    pipeline = RouterPipeline(Supergraph.from_sdl(MISMATCH_SUPERGRAPH), Executor(client, {"a": "http://a"}))
    outcome = await pipeline.execute(GraphQLRequest("{ accounts { ... on User { id name } ... on Admin { id name } } }"), {})
    assert "...on Admin{_Admin_id_typed: id name}" in client.operation
    assert outcome.body == {"data": {"accounts": [{"id": "u1", "name": "U"}, {"id": "a1", "name": "A"}]}}


def test_fields_of_different_composite_types_under_one_response_key_are_not_aliased():
    # Product.same: Product and Book.same: Book have the same response shape.
    supergraph = Supergraph.from_sdl(OVERRIDDEN_SUPERGRAPH.split("interface Post")[0] + """
interface Product @join__type(graph: A) { id: ID! same: Product }
type Book implements Product @join__implements(graph: A, interface: "Product") @join__type(graph: A) { id: ID! same: Book }
type Query @join__type(graph: A) { product: Product }
""")
    (fetch,) = plan_of(supergraph, "{ product { same { id } ... on Book { same { id } } } }").fetches()
    assert "_typed" not in fetch.operation


def test_an_interface_field_no_subgraph_can_reach_is_a_planning_error():
    from router.errors import PlanningError

    # "a" has no object type of Node and "b" cannot be entered (its key is not resolvable).
    supergraph = Supergraph.from_sdl(OVERRIDDEN_SUPERGRAPH.split("interface Post")[0] + """
interface Node @join__type(graph: A, key: "id") @join__type(graph: B, key: "id", resolvable: false, isInterfaceObject: true) {
  id: ID!
  field: String @join__field(graph: B)
}
type Query @join__type(graph: A) @join__type(graph: B) { a: Node @join__field(graph: A) }
""")
    with pytest.raises(PlanningError, match='"Node.field"'):
        plan_of(supergraph, "{ a { field } }")
