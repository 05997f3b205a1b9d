"""An interface field the client selects on the interface is one path: the subgraph that
resolves the parent field must resolve it for every runtime type (itself or through
keys), as Apollo's and Hive's planners require; only the client's own type fragments may
be answered by different subgraphs. (federation-gateway-audit corrupted-supergraph-node-id)

Both subgraphs serve the shareable `Query.node`; each has the other's entity with an
@external `id`, and neither can build the other's key, so no subgraph can answer `Node.id`
for both types. Their `node` answers "never" for an id they do not own, as the audit's do."""
from __future__ import annotations

from .sdl_subgraphs import SdlSubgraph, SdlSubgraphs

ACCOUNT = {"__typename": "Account", "id": "a1", "username": "a1-username"}
CHAT = {"__typename": "Chat", "id": "c1", "text": "c1-text"}


def _node_a(info, id):
    return {"a1": ACCOUNT, "c1": {"__typename": "Chat", "id": "never"}}.get(id)


def _node_b(info, id):
    return {"a1": {"__typename": "Account", "id": "never"}, "c1": CHAT}.get(id)


def subgraphs(b_owns_account_id: bool = False) -> SdlSubgraphs:
    account_id = "id: ID!" if b_owns_account_id else "id: ID! @external"
    a = SdlSubgraph(
        """
        type Query { node(id: ID!): Node @shareable account(id: String!): Account }
        interface Node { id: ID! }
        type Account implements Node @key(fields: "id") { id: ID! username: String! }
        type Chat implements Node @key(fields: "id") { id: ID! @external account: Account! }
        """,
        {"node": _node_a, "account": lambda info, id: ACCOUNT if id == "a1" else None},
        {("Account", "a1"): ACCOUNT},
    )
    b = SdlSubgraph(
        f"""
        type Query {{ node(id: ID!): Node @shareable chat(id: String!): Chat }}
        interface Node {{ id: ID! }}
        type Account implements Node @key(fields: "id") {{ {account_id} chats: [Chat!]! }}
        type Chat implements Node @key(fields: "id") {{ id: ID! text: String! }}
        """,
        {"node": _node_b if not b_owns_account_id else (lambda info, id: {"a1": ACCOUNT, "c1": CHAT}.get(id))},
        {("Chat", "c1"): CHAT},
    )
    return SdlSubgraphs({"a": a, "b": b})


async def test_an_interface_field_no_subgraph_resolves_for_every_type_is_not_planned():
    fake = subgraphs()
    outcome = await fake.run('{ node(id: "a1") { id } }')
    assert "data" not in outcome.body
    (error,) = outcome.body["errors"]
    assert error["message"].startswith("The operation could not be planned")
    assert fake.operations == []  # not half-answered from two subgraphs


async def test_the_interface_field_beside_a_type_fragment_is_not_planned_either():
    fake = subgraphs()
    outcome = await fake.run(
        '{ account: node(id: "a1") { id ... on Chat { id } } chat: node(id: "c1") { __typename ... on Account { id } } }'
    )
    assert "data" not in outcome.body and outcome.body["errors"]
    assert fake.operations == []


async def test_the_clients_own_type_fragments_are_answered_by_each_types_subgraph():
    fake = subgraphs()
    outcome = await fake.run(
        '{ account: node(id: "a1") { ... on Account { id username } } chat: node(id: "c1") { ... on Chat { id text } } }'
    )
    assert outcome.body == {"data": {"account": {"id": "a1", "username": "a1-username"}, "chat": {"id": "c1", "text": "c1-text"}}}


async def test_fragments_on_a_type_the_object_is_not_give_empty_objects():
    fake = subgraphs()
    outcome = await fake.run(
        '{ account: node(id: "a1") { __typename ... on Chat { id } } chat: node(id: "c1") { __typename ... on Account { id } } }'
    )
    assert outcome.body == {"data": {"account": {"__typename": "Account"}, "chat": {"__typename": "Chat"}}}


async def test_a_subgraph_that_resolves_the_interface_field_for_every_type_answers_it_whole():
    # "a" cannot give Chat.id, so the field is entered at the shareable root in "b", which
    # has both types' ids: the whole `node { id }` comes from there.
    fake = subgraphs(b_owns_account_id=True)
    outcome = await fake.run('{ account: node(id: "a1") { id } chat: node(id: "c1") { id } }')
    assert outcome.body == {"data": {"account": {"id": "a1"}, "chat": {"id": "c1"}}}
    assert fake.sent_to("b") == ['{account: node(id: "a1"){__typename id} chat: node(id: "c1"){__typename id}}']
