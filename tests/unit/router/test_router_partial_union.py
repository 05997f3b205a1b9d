"""A union whose members differ between subgraphs, below fields several subgraphs can
resolve: only the members every subgraph that can still resolve the path has are planned,
since a shareable field must answer alike whichever subgraph the plan picks; a field only
one subgraph resolves (or one an entity jump lands on) keeps that subgraph's members.
(federation-gateway-audit partial-union-complex; Hive Router does the same)

`Container` is an entity in both subgraphs and `Container.wrapper`, `Wrapper.actions` are
shareable, so `rootA { wrapper { actions } }` can be resolved by "a" or, through the key,
by "b": the members common to both are `Common` only. `bWrapper` is only in "b"."""
from __future__ import annotations

from .sdl_subgraphs import SdlSubgraph, SdlSubgraphs

COMMON = {"__typename": "Common", "label": "common label"}
ONLY_A = {"__typename": "OnlyA", "a": "only a"}
ONLY_B = {"__typename": "OnlyB", "b": "only b"}

ACTIONS = "actions { __typename ... on Common { label } ... on OnlyA { a } ... on OnlyB { b } }"


def subgraphs() -> SdlSubgraphs:
    def container(actions):
        return {"__typename": "Container", "id": "container-1", "wrapper": {"actions": actions}}

    a = SdlSubgraph(
        """
        type Query { rootA: Container shared: Container @shareable }
        type Container @key(fields: "id") { id: ID! wrapper: Wrapper @shareable }
        type Wrapper @shareable { actions: [Action!]! @shareable }
        union Action = Common | OnlyA
        type Common @shareable { label: String }
        type OnlyA { a: String }
        """,
        {"rootA": container([COMMON, ONLY_A]), "shared": container([COMMON])},
        {("Container", "container-1"): container([COMMON, ONLY_A])},
    )
    b_container = {**container([COMMON, ONLY_B]), "bWrapper": {"actions": [COMMON, ONLY_B]}}
    b = SdlSubgraph(
        """
        type Query { rootB: Container shared: Container @shareable }
        type Container @key(fields: "id") { id: ID! wrapper: Wrapper @shareable bWrapper: Wrapper }
        type Wrapper @shareable { actions: [Action!]! @shareable }
        union Action = Common | OnlyB
        type Common @shareable { label: String }
        type OnlyB { b: String }
        """,
        {"rootB": b_container, "shared": container([COMMON])},
        {("Container", "container-1"): b_container},
    )
    return SdlSubgraphs({"a": a, "b": b})


async def test_below_a_field_both_subgraphs_resolve_only_the_common_members_are_fetched():
    fake = subgraphs()
    outcome = await fake.run(f"{{ rootA {{ wrapper {{ {ACTIONS} }} }} }}")
    assert outcome.body == {"data": {"rootA": {"wrapper": {"actions": [
        {"__typename": "Common", "label": "common label"},
        {"__typename": "OnlyA", "a": None},
    ]}}}}
    assert fake.sent_to("a") == ["{rootA{wrapper{actions{__typename ...on Common{label}}}}}"]
    assert fake.sent_to("b") == []


async def test_the_same_from_the_other_subgraphs_root_field():
    fake = subgraphs()
    outcome = await fake.run(f"{{ rootB {{ wrapper {{ {ACTIONS} }} }} }}")
    assert outcome.body == {"data": {"rootB": {"wrapper": {"actions": [
        {"__typename": "Common", "label": "common label"},
        {"__typename": "OnlyB", "b": None},
    ]}}}}
    assert fake.sent_to("b") == ["{rootB{wrapper{actions{__typename ...on Common{label}}}}}"]


async def test_a_fragment_on_a_member_no_subgraph_returns_there_selects_nothing():
    fake = subgraphs()
    outcome = await fake.run("{ rootA { wrapper { actions { __typename ... on OnlyB { b } } } } }")
    assert outcome.body == {"data": {"rootA": {"wrapper": {"actions": [{"__typename": "Common"}, {"__typename": "OnlyA"}]}}}}


async def test_a_shareable_root_field_keeps_the_common_members():
    fake = subgraphs()
    outcome = await fake.run(f"{{ shared {{ wrapper {{ {ACTIONS} }} }} }}")
    assert outcome.body == {"data": {"shared": {"wrapper": {"actions": [{"__typename": "Common", "label": "common label"}]}}}}


async def test_after_an_entity_jump_to_the_one_subgraph_that_resolves_the_field_its_members_are_kept():
    fake = subgraphs()
    outcome = await fake.run(f"{{ rootA {{ bWrapper {{ {ACTIONS} }} }} }}")
    assert outcome.body == {"data": {"rootA": {"bWrapper": {"actions": [
        {"__typename": "Common", "label": "common label"},
        {"__typename": "OnlyB", "b": "only b"},
    ]}}}}
    (entities,) = fake.sent_to("b")
    assert "...on OnlyB{b}" in entities


async def test_a_union_below_a_field_only_one_subgraph_can_reach_keeps_all_its_members():
    # `Holder` has no key: "b" also has `Holder.actions` but can never be entered there
    # (federation-gateway-audit partial-union).
    a = SdlSubgraph(
        """
        type Query { holder: Holder }
        type Holder @shareable { actions: [Action!]! }
        union Action = Common | OnlyA
        type Common @shareable { label: String }
        type OnlyA { a: String }
        """,
        {"holder": {"actions": [COMMON, ONLY_A]}},
    )
    b = SdlSubgraph(
        """
        type Query { version: Int }
        type Holder @shareable { actions: [Action!]! }
        union Action = Common
        type Common @shareable { label: String }
        """,
        {"version": 1},
    )
    fake = SdlSubgraphs({"a": a, "b": b})
    outcome = await fake.run("{ holder { actions { ... on Common { label } ... on OnlyA { a } } } }")
    assert outcome.body == {"data": {"holder": {"actions": [{"label": "common label"}, {"a": "only a"}]}}}
