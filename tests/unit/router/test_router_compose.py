"""Composition: subgraph SDLs -> supergraph SDL in Apollo's format, and its errors."""
from __future__ import annotations

import pytest
from graphql import build_schema, find_breaking_changes, parse, print_schema
from .router_fixture_subgraphs import SCHEMAS, service_sdl, subgraph_defs, url_of

from router.compose import CompositionError, SubgraphDef, compose
from router.supergraph import Supergraph

FED2 = '@link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible", "@tag"])'


def sub(name: str, body: str, link: str = FED2) -> SubgraphDef:
    return SubgraphDef(name, f"http://{name}/graphql", f"extend schema {link}\n{body}")


def test_supergraph_has_apollo_header_and_join_machinery(supergraph_sdl):
    assert supergraph_sdl.startswith(
        'schema\n  @link(url: "https://specs.apollo.dev/link/v1.0")\n'
        '  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)\n{\n  query: Query\n  mutation: Mutation\n  subscription: Subscription\n}'
    )
    for definition in ("directive @join__type(", "directive @join__field(", "directive @join__graph(", "scalar join__FieldSet",
                       "scalar link__Import", "enum link__Purpose"):
        assert definition in supergraph_sdl
    for name in SCHEMAS:
        assert f'{name.upper()} @join__graph(name: "{name}", url: "{url_of(name)}")' in supergraph_sdl
    # It is valid GraphQL SDL, and federation machinery is gone.
    parse(supergraph_sdl)
    for machinery in ("_entities", "_service", "_Any", "_Entity", "_Service", "federation__"):
        assert machinery not in supergraph_sdl


def test_composes_the_sdl_strawberry_serves_from_service(supergraph_sdl):
    served = compose([SubgraphDef(name, url_of(name), service_sdl(name)) for name in SCHEMAS])
    assert served == supergraph_sdl


def test_round_trip_keys_fields_and_graphs(supergraph):
    user = supergraph.type("User")
    assert set(user.graphs) == {"accounts", "products", "reviews"}
    assert [k.fields for k in supergraph.keys("User", "accounts")] == ["id"]
    assert [k.resolvable for k in supergraph.keys("User", "products")] == [False]
    assert supergraph.keys("User", "products", resolvable_only=True) == ()
    assert supergraph.resolving_graphs("User", "name") == ("accounts",)
    assert supergraph.resolving_graphs("User", "reviews") == ("reviews",)
    assert set(supergraph.resolving_graphs("User", "id")) == {"accounts", "products", "reviews"}
    assert supergraph.resolving_graphs("Book", "shippingCost") == ("inventory",)
    assert supergraph.resolving_graphs("Product", "inStock") == ("inventory",)
    assert supergraph.resolving_graphs("Query", "topProducts") == ("products",)
    assert supergraph.resolving_graphs("Mutation", "addReview") == ("reviews",)
    assert set(supergraph.possible_types("SearchResult")) == {"Book", "Furniture", "User"}
    assert set(supergraph.possible_types_in("products", "Product")) == {"Book", "Furniture"}
    assert supergraph.possible_types_in("reviews", "Product") == ()


def test_api_schema_is_the_union_of_the_subgraphs(supergraph):
    schema = supergraph.api_schema
    book = schema.type_map["Book"]
    assert set(book.fields) == {"upc", "name", "price", "pages", "author", "inStock", "shippingCost", "reviews"}
    assert [i.name for i in book.interfaces] == ["Product"]
    assert set(schema.type_map["Material"].values) == {"WOOD", "METAL", "PLASTIC"}
    assert "join__Graph" not in schema.type_map and "link__Purpose" not in schema.type_map
    assert {d.name for d in schema.directives} == {"include", "skip", "deprecated", "specifiedBy", "oneOf"}
    assert str(schema.query_type.fields["topProducts"].args["first"].type) == "Int!"


def test_join_field_only_where_needed(supergraph_sdl):
    lines = {line.strip().split("(")[0].split(":")[0]: line.strip() for line in supergraph_sdl.splitlines()}
    # Book.upc is in every subgraph defining Book: no @join__field. Book.pages only in products.
    book = supergraph_sdl.split("type Book")[1].split("}")[0]
    assert "  upc: ID!\n" in book
    assert "pages: Int! @join__field(graph: PRODUCTS)" in book
    assert '@join__implements(graph: INVENTORY, interface: "Product")' in book
    assert '@join__type(graph: REVIEWS, key: "upc")' in book
    assert lines["search"].endswith("@join__field(graph: PRODUCTS)")


def test_value_types_and_shared_scalars_merge():
    a = sub("a", 'scalar Decimal\ntype Money @shareable { amount: Decimal! currency: String! }\ntype Query { price: Money }')
    b = sub("b", 'scalar Decimal\ntype Money @shareable { amount: Decimal! currency: String! }\ntype Query { fee: Money }')
    sdl = compose([a, b])
    assert "scalar Decimal\n  @join__type(graph: A)\n  @join__type(graph: B)" in sdl
    supergraph = Supergraph.from_sdl(sdl)
    assert supergraph.resolving_graphs("Money", "amount") == ("a", "b")


def test_nullability_differences_merge_to_the_most_permissive_type():
    a = sub("a", 'type T @key(fields: "id") { id: ID! label: String! @shareable }\ntype Query { t: T }')
    b = sub("b", 'type T @key(fields: "id") { id: ID! label: String @shareable }')
    sdl = compose([a, b])
    assert 'label: String @join__field(graph: A, type: "String!") @join__field(graph: B, type: "String")' in sdl


def test_override_moves_the_field():
    a = sub("a", 'type T @key(fields: "id") { id: ID! price: Int }\ntype Query { t: T }')
    b = sub("b", 'type T @key(fields: "id") { id: ID! price: Int @override(from: "a") }')
    supergraph = Supergraph.from_sdl(compose([a, b]))
    assert supergraph.resolving_graphs("T", "price") == ("b",)
    assert supergraph.field("T", "price").joins["b"].override == "a"


def test_requires_provides_and_external_are_recorded():
    a = sub("a", 'type T @key(fields: "id") { id: ID! weight: Int }\ntype Query { t: T @shareable }')
    b = sub(
        "b",
        'type T @key(fields: "id") { id: ID! weight: Int @external shipping: Int @requires(fields: "weight") }\n'
        'type Query { t: T @provides(fields: "weight") @shareable }',
    )
    supergraph = Supergraph.from_sdl(compose([a, b]))
    assert supergraph.resolving_graphs("T", "weight") == ("a",)
    assert supergraph.field("T", "weight").joins["b"].external is True
    assert supergraph.field("T", "shipping").requires("b") == "weight"
    assert supergraph.field("Query", "t").provides("b") == "weight"


def test_prefixed_and_renamed_federation_directives_are_understood():
    a = SubgraphDef(
        "a",
        "http://a",
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [{name: "@key", as: "@primary"}])\n'
        'type T @primary(fields: "id") { id: ID! name: String @federation__shareable }\ntype Query { t: T }',
    )
    b = sub("b", 'type T @key(fields: "id") { id: ID! name: String @shareable }')
    supergraph = Supergraph.from_sdl(compose([a, b]))
    assert [k.fields for k in supergraph.keys("T", "a")] == ["id"]
    assert supergraph.resolving_graphs("T", "name") == ("a", "b")


def test_inaccessible_and_tag_are_kept_and_hidden_from_the_api():
    a = sub(
        "a",
        'type T { id: ID! secret: String @inaccessible @tag(name: "internal") }\n'
        'enum Level { LOW HIGH @inaccessible }\ntype Query { t: T level: Level }',
    )
    sdl = compose([a])
    assert '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)' in sdl
    assert 'secret: String @inaccessible @tag(name: "internal")' in sdl
    api = Supergraph.from_sdl(sdl).api_schema
    assert "secret" not in api.type_map["T"].fields
    assert set(api.type_map["Level"].values) == {"LOW"}


def test_enum_used_as_input_only_takes_the_intersection():
    a = sub("a", "enum E { X Y }\ntype Query { f(e: E): Int }")
    b = sub("b", "enum E { Y Z }\ntype Query { g(e: E): Int }")
    api = Supergraph.from_sdl(compose([a, b])).api_schema
    assert set(api.type_map["E"].values) == {"Y"}


def test_api_schema_keeps_the_contracts_shape(supergraph):
    """The composed API schema is exactly what the subgraphs declare (no breaking change
    against a monolith written by hand for the same types)."""
    expected = build_schema(print_schema(supergraph.api_schema))
    assert find_breaking_changes(expected, supergraph.api_schema) == []
    assert find_breaking_changes(supergraph.api_schema, expected) == []


# ---------------------------------------------------------------- errors


def problems_of(*subgraphs: SubgraphDef) -> list[str]:
    with pytest.raises(CompositionError) as raised:
        compose(list(subgraphs))
    return raised.value.problems


def test_non_shareable_field_in_two_subgraphs_is_an_error():
    a = sub("a", 'type T @key(fields: "id") { id: ID! name: String }\ntype Query { t: T }')
    b = sub("b", 'type T @key(fields: "id") { id: ID! name: String }')
    problems = problems_of(a, b)
    assert len(problems) == 1
    assert '"T.name"' in problems[0] and '"a"' in problems[0] and '"b"' in problems[0] and "shareable" in problems[0]


def test_key_fields_and_value_less_stubs_need_no_shareable():
    owner = sub("assets", 'type Asset @key(fields: "ticker") { ticker: ID! name: String! }\ntype Query { asset: Asset }')
    stubs = [
        sub(name, 'type Asset @key(fields: "ticker", resolvable: false) { ticker: ID! }\n'
                  f'type Query {{ {name}Assets: [Asset!]! }}')
        for name in ("wallet", "orders", "reports")
    ]
    supergraph = Supergraph.from_sdl(compose([owner, *stubs]))
    assert set(supergraph.resolving_graphs("Asset", "ticker")) == {"assets", "wallet", "orders", "reports"}
    assert supergraph.keys("Asset", "wallet", resolvable_only=True) == ()


def test_incompatible_field_types_are_an_error():
    a = sub("a", 'type T @key(fields: "id") { id: ID! n: Int @shareable }\ntype Query { t: T }')
    b = sub("b", 'type T @key(fields: "id") { id: ID! n: String @shareable }')
    (problem,) = problems_of(a, b)
    assert '"T.n"' in problem and '"Int"' in problem and '"String"' in problem and '"a"' in problem and '"b"' in problem


def test_every_problem_is_reported_at_once():
    a = sub("a", 'type T @key(fields: "nope") { id: ID! n: Int x: Int }\ntype Query { t: T u: Unknown }')
    b = sub("b", 'type T @key(fields: "id") { id: ID! n: String x: Int }\ninterface I { a: Int }\ntype Z implements I { a: Int }')
    problems = problems_of(a, b)
    text = "\n".join(problems)
    assert any('"T.n"' in p and "incompatible" in p for p in problems)
    assert any('"T.x"' in p and "shareable" in p for p in problems)
    assert any('@key(fields: "nope")' in p and '"a"' in p for p in problems)
    assert any('unknown type "Unknown"' in p for p in problems)
    assert len(problems) >= 4, text


def test_kind_mismatch_and_bad_requires_are_errors():
    a = sub("a", "type T { id: ID! }\ntype Query { t: T }")
    b = sub("b", 'interface T { id: ID! }\ntype U @key(fields: "id") { id: ID! n: Int @requires(fields: "missing") }')
    problems = problems_of(a, b)
    assert any('"T"' in p and "kinds" in p for p in problems)
    assert any("@requires" in p and '"U.n"' in p and "missing" in p for p in problems)


def test_syntax_errors_name_the_subgraph():
    (problem,) = problems_of(SubgraphDef("broken", "http://b", "type Query {"))
    assert '"broken"' in problem and "parse" in problem


def test_no_query_field_is_an_error():
    assert any("query" in p for p in problems_of(sub("a", "type T { id: ID }")))


def test_fixture_subgraphs_compose_in_any_order():
    defs = subgraph_defs()
    assert compose(list(reversed(defs))) == compose(defs)


def test_inputs_and_arguments_keep_what_every_subgraph_defines():
    a = sub("a", 'input F { shared: Int, onlyA: Int }\ntype Query { q(f: F, x: Int, y: Int = 1): Int @shareable }')
    b = sub("b", 'input F { shared: Int!, onlyB: String }\ntype Query { q(f: F, x: Int): Int @shareable }')
    api = Supergraph.from_sdl(compose([a, b])).api_schema
    assert set(api.type_map["F"].fields) == {"shared"}
    assert str(api.type_map["F"].fields["shared"].type) == "Int!", "an input takes the strictest type"
    assert set(api.query_type.fields["q"].args) == {"f", "x"}


def test_a_required_input_field_or_argument_missing_somewhere_is_an_error():
    a = sub("a", "input F { must: Int! }\ntype Query { q(f: F, id: ID!): Int @shareable }")
    b = sub("b", "input F { other: Int }\ntype Query { q(f: F): Int @shareable }")
    problems = problems_of(a, b)
    assert any(
        p.startswith('input field "F.must" is required in subgraph "a" but missing in subgraph "b"')
        and "every subgraph defines" in p
        for p in problems
    ), problems
    assert 'argument "Query.q(id:)" is required in subgraph "a" but missing in subgraph "b"' in problems


def test_incompatible_input_types_are_named():
    a = sub("a", "input F { v: Int }\ntype Query { q(f: F, n: Int): Int @shareable }")
    b = sub("b", "input F { v: String }\ntype Query { q(f: F, n: String): Int @shareable }")
    problems = problems_of(a, b)
    assert any(p.startswith('type of input field "F.v" is incompatible across subgraphs') for p in problems), problems
    assert any(p.startswith('type of argument "Query.q(n:)" is incompatible across subgraphs') for p in problems), problems
