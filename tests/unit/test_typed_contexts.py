"""Each subgraph's resolvers take its own typed `Info`, whose context holds that subgraph's
service, so mypy (`make lint`) checks every `info.context.service` call. A resolver typed
with the bare `strawberry.Info` would make its context Any again, unchecked."""
from __future__ import annotations

import ast
import importlib
import typing
from pathlib import Path

import pytest
import strawberry

from mybroker.graphql import GraphQLContext

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {
    "assets": "AssetsService",
    "identity": "IdentityService",
    "orders": "OrderService",
    "reports": "ReportsService",
    "wallet": "WalletService",
}


@pytest.mark.parametrize("subgraph", sorted(SERVICES))
def test_the_schema_names_a_context_with_its_own_service(subgraph):
    schema = importlib.import_module(f"subgraphs.{subgraph}.schema")
    service = getattr(importlib.import_module(f"subgraphs.{subgraph}.service"), SERVICES[subgraph])
    assert typing.get_origin(schema.Info) is strawberry.Info
    assert typing.get_args(schema.Info) == (GraphQLContext[service], type(None))


@pytest.mark.parametrize("subgraph", sorted(SERVICES))
def test_every_info_parameter_is_typed_with_it(subgraph):
    tree = ast.parse((ROOT / "subgraphs" / subgraph / "schema.py").read_text(encoding="utf-8"))
    untyped = [
        f"line {node.lineno}: {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for arg in node.args.args
        if arg.arg == "info" and not (isinstance(arg.annotation, ast.Name) and arg.annotation.id == "Info")
    ]
    assert not untyped, f"subgraphs/{subgraph}/schema.py resolvers without the typed Info: {untyped}"
