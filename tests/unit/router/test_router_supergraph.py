"""Supergraph.from_sdl reads supergraphs written by Apollo's composition too: join v0.3
(what we print), v0.5 (with @join__directive, contextArguments, @inaccessible/@tag) and the
Fed 1 era (@core + join v0.1 with @join__owner)."""
from __future__ import annotations

import pytest
from graphql import parse, print_schema

from router.planner import plan
from router.supergraph import Supergraph, SupergraphError

LINK_PURPOSE = '''
scalar link__Import

enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}
'''

APOLLO_V03 = '''schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
{
  query: Query
}

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

scalar join__FieldSet

enum join__Graph {
  EMAIL @join__graph(name: "email", url: "http://localhost:4200/simple-entity-call/email")
  NICKNAME @join__graph(name: "nickname", url: "http://localhost:4200/simple-entity-call/nickname")
}
''' + LINK_PURPOSE + '''
type Query
  @join__type(graph: EMAIL)
  @join__type(graph: NICKNAME)
{
  user: User @join__field(graph: EMAIL)
}

type User
  @join__type(graph: EMAIL, key: "id")
  @join__type(graph: NICKNAME, key: "email")
{
  id: ID! @join__field(graph: EMAIL)
  email: String! @join__field(graph: EMAIL) @join__field(graph: NICKNAME, external: true)
  nickname: String! @join__field(graph: NICKNAME)
}
'''

APOLLO_V05 = '''schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)
  @link(url: "https://specs.apollo.dev/tag/v0.3")
{
  query: Query
}

directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION

directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String, contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA

input join__ContextArgument {
  name: String!
  type: String!
  context: String!
  selection: join__FieldValue!
}

scalar join__DirectiveArguments

scalar join__FieldSet

scalar join__FieldValue

enum join__Graph {
  A @join__graph(name: "a", url: "http://a.example/graphql")
  B @join__graph(name: "b", url: "http://b.example/graphql")
}
''' + LINK_PURPOSE + '''
interface Node
  @join__type(graph: A, key: "id")
{
  id: ID!
}

type Product implements Node
  @join__implements(graph: A, interface: "Node")
  @join__type(graph: A, key: "id")
  @join__type(graph: B, key: "id")
  @tag(name: "public")
{
  id: ID!
  name: String! @join__field(graph: A)
  internalCode: String @join__field(graph: A) @inaccessible
  price: Int @join__field(graph: A, overrideLabel: "percent(50)", override: "b") @join__field(graph: B, overrideLabel: "percent(50)")
  reviewsCount: Int! @join__field(graph: B) @join__directive(graphs: [B], name: "cost", args: {weight: 5})
}

type Query
  @join__type(graph: A)
  @join__type(graph: B)
{
  products: [Product!]! @join__field(graph: A)
  node(id: ID!): Node @join__field(graph: A)
  hidden: Secret @join__field(graph: A) @inaccessible
}

type Secret
  @join__type(graph: A)
  @inaccessible
{
  code: String
}

enum Level
  @join__type(graph: B)
{
  LOW @join__enumValue(graph: B)
  SECRET @join__enumValue(graph: B) @inaccessible
}
'''

FED1 = '''schema
  @core(feature: "https://specs.apollo.dev/core/v0.2"),
  @core(feature: "https://specs.apollo.dev/join/v0.1", for: EXECUTION)
{
  query: Query
}

directive @core(as: String, feature: String!, for: core__Purpose) repeatable on SCHEMA

directive @join__field(graph: join__Graph, provides: join__FieldSet, requires: join__FieldSet) on FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__owner(graph: join__Graph!) on INTERFACE | OBJECT

directive @join__type(graph: join__Graph!, key: join__FieldSet) repeatable on INTERFACE | OBJECT

type Product
  @join__owner(graph: PRODUCTS)
  @join__type(graph: PRODUCTS, key: "upc")
  @join__type(graph: INVENTORY, key: "upc")
{
  upc: String! @join__field(graph: PRODUCTS)
  name: String @join__field(graph: PRODUCTS)
  inStock: Boolean @join__field(graph: INVENTORY)
  weight: Int
}

type Query {
  topProducts(first: Int = 5): [Product] @join__field(graph: PRODUCTS)
}

enum core__Purpose {
  EXECUTION
  SECURITY
}

scalar join__FieldSet

enum join__Graph {
  INVENTORY @join__graph(name: "inventory" url: "http://inventory:4000/graphql")
  PRODUCTS @join__graph(name: "products" url: "http://products:4000/graphql")
}
'''


def test_reads_apollo_join_v03():
    supergraph = Supergraph.from_sdl(APOLLO_V03)
    assert {name: s.url for name, s in supergraph.subgraphs.items()} == {
        "email": "http://localhost:4200/simple-entity-call/email",
        "nickname": "http://localhost:4200/simple-entity-call/nickname",
    }
    assert supergraph.resolving_graphs("User", "email") == ("email",)
    assert supergraph.field("User", "email").joins["nickname"].external
    assert [k.fields for k in supergraph.keys("User", "nickname")] == ["email"]
    assert "join__" not in print_schema(supergraph.api_schema)


def test_plans_an_entity_call_through_a_different_key():
    supergraph = Supergraph.from_sdl(APOLLO_V03)
    text = plan(supergraph, parse("{ user { id nickname } }")).pretty()
    assert text == '''QueryPlan {
  Sequence {
    Fetch(service: "email") {
      {
        user {
          __typename
          id
          email
        }
      }
    },
    Flatten(path: "user") {
      Fetch(service: "nickname") {
        {
          ... on User {
            __typename
            email
          }
        } =>
        {
          ... on User {
            nickname
          }
        }
      },
    },
  }
}'''


def test_reads_apollo_join_v05_with_inaccessible_and_join_directive():
    supergraph = Supergraph.from_sdl(APOLLO_V05)
    api = supergraph.api_schema
    assert "internalCode" not in api.type_map["Product"].fields
    assert "hidden" not in api.query_type.fields
    assert "Secret" not in api.type_map
    assert set(api.type_map["Level"].values) == {"LOW"}
    for hidden in ("join__ContextArgument", "join__DirectiveArguments", "join__FieldValue", "link__Import"):
        assert hidden not in api.type_map
    assert {d.name for d in api.directives} == {"include", "skip", "deprecated", "specifiedBy", "oneOf"}
    # @override with a progressive label: both graphs still listed by the join data.
    assert set(supergraph.resolving_graphs("Product", "price")) == {"a", "b"}
    assert supergraph.resolving_graphs("Product", "reviewsCount") == ("b",)
    assert supergraph.possible_types("Node") == ("Product",)
    assert supergraph.possible_types_in("a", "Node") == ("Product",)
    assert supergraph.possible_types_in("b", "Node") == ()


def test_reads_fed1_core_and_join_v01():
    supergraph = Supergraph.from_sdl(FED1)
    assert supergraph.join_version == (0, 1)
    assert supergraph.resolving_graphs("Product", "inStock") == ("inventory",)
    # No @join__field: the owner resolves it.
    assert supergraph.resolving_graphs("Product", "weight") == ("products",)
    assert "core__Purpose" not in supergraph.api_schema.type_map
    text = plan(supergraph, parse("{ topProducts { name inStock } }")).pretty()
    assert 'Flatten(path: "topProducts.@")' in text and 'Fetch(service: "inventory")' in text


def test_sdl_without_join_is_refused():
    with pytest.raises(SupergraphError):
        Supergraph.from_sdl("type Query { a: Int }")
