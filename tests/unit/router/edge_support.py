"""Helpers for the edge tests: a router app on a free port with a config built from
keyword arguments, over the in-process test subgraphs."""
from __future__ import annotations

import contextlib

from router.http import RouterConfig, create_router_app

from .router_fixture_subgraphs import SECRET, InProcessClient
from .test_router_http import serve

PREFLIGHTED = {"apollo-require-preflight": "true"}


@contextlib.asynccontextmanager
async def edge_router(supergraph, store, **config):
    """Yields (base URL, app); `config` are RouterConfig fields."""
    config.setdefault("client", InProcessClient(store))
    app = create_router_app(supergraph, RouterConfig(internal_secret=SECRET, **config))
    async with serve(app) as url:
        yield url, app
