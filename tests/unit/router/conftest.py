"""Fixtures for the router's tests: the composed test supergraph, an in-process client
over the test subgraphs, and a pipeline wired to both."""
from __future__ import annotations

import pytest

from router.compose import compose
from router.executor import Executor
from router.pipeline import RouterPipeline
from router.supergraph import Supergraph

from .router_fixture_subgraphs import SCHEMAS, InProcessClient, Store, subgraph_defs, url_of


@pytest.fixture(scope="session")
def supergraph_sdl() -> str:
    return compose(subgraph_defs())


@pytest.fixture(scope="session")
def supergraph(supergraph_sdl: str) -> Supergraph:
    return Supergraph.from_sdl(supergraph_sdl)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def client(store: Store) -> InProcessClient:
    return InProcessClient(store)


@pytest.fixture
def pipeline(supergraph: Supergraph, client: InProcessClient) -> RouterPipeline:
    return RouterPipeline(supergraph, Executor(client, {name: url_of(name) for name in SCHEMAS}))
