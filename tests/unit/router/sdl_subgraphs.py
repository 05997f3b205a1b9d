"""Small subgraphs written as Federation 2 SDL with canned data, for planner cases that
need @external or per-subgraph union members (which the strawberry fixtures cannot say).

Each subgraph's schema is built with graphql-core from its own SDL, so every operation the
router sends is validated against that subgraph as a real one would validate it (a
fragment on a type the subgraph lacks is refused), then executed over plain dicts:
`__typename` in a dict picks the runtime type, and `_entities` looks entities up by
typename and `id`."""
from __future__ import annotations

import re
from typing import Any

import orjson
from graphql import build_schema, graphql

from router.compose import SubgraphDef, compose
from router.executor import Executor
from router.pipeline import ExecutionOutcome, GraphQLRequest, RouterPipeline
from router.supergraph import Supergraph

LINK = '@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external"])'

_FEDERATION = """
directive @link(url: String, import: [String]) repeatable on SCHEMA
directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
directive @external on OBJECT | FIELD_DEFINITION
scalar _Any
"""


class SdlSubgraph:
    def __init__(self, sdl: str, root: dict[str, Any], entities: dict[tuple[str, str], dict] | None = None):
        self.sdl = f"extend schema {LINK}\n{sdl}"
        entity_types = re.findall(r"type (\w+)[^{]*@key", sdl)
        executable = _FEDERATION + sdl
        if entity_types:
            executable += f"\nunion _Entity = {' | '.join(entity_types)}\n"
            executable += "extend type Query { _entities(representations: [_Any!]!): [_Entity]! }\n"
        self.schema = build_schema(executable)
        self.root = dict(root)
        found = entities or {}
        self.root["_entities"] = lambda info, representations: [
            found.get((r["__typename"], r.get("id"))) for r in representations
        ]


class SdlSubgraphs:
    """The subgraphs by name (each name is its URL too) and every operation sent to them."""

    def __init__(self, subgraphs: dict[str, SdlSubgraph]):
        self.subgraphs = subgraphs
        self.operations: list[tuple[str, str]] = []

    def supergraph(self) -> Supergraph:
        return Supergraph.from_sdl(compose([SubgraphDef(n, n, s.sdl) for n, s in self.subgraphs.items()]))

    async def fetch(self, url: str, body: dict, headers: dict) -> dict:
        self.operations.append((url, body["query"]))
        subgraph = self.subgraphs[url]
        result = await graphql(subgraph.schema, body["query"], root_value=subgraph.root, variable_values=body.get("variables"))
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
        return orjson.loads(orjson.dumps(response))

    async def run(self, query: str) -> ExecutionOutcome:
        pipeline = RouterPipeline(self.supergraph(), Executor(self, {n: n for n in self.subgraphs}))
        return await pipeline.execute(GraphQLRequest(query), {})

    def sent_to(self, name: str) -> list[str]:
        return [operation for url, operation in self.operations if url == name]
