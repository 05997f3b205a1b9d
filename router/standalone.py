"""The router as `mybroker router` runs it: a supergraph SDL (from a file or composed from
running subgraphs) in, a checked Supergraph out, and serving an app; start-up problems come out
as one readable sentence (SupergraphLoadError), never a traceback."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable

from graphql import GraphQLError

from router.compose import CompositionError
from router.discovery import SubgraphSdlError, compose_from_urls, sdl_headers
from router.supergraph import Supergraph, SupergraphError

# Idle keep-alive connections from clients (browsers, load balancers) are kept this long;
# a proxy in front should drop its idle connections sooner.
EDGE_IDLE_SECONDS = 60


class SupergraphLoadError(Exception):
    """The router cannot start on this supergraph; the message says which part and why."""


def read_supergraph_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SupergraphLoadError(f"cannot read the supergraph file {path}: {error}") from None


async def compose_supergraph(subgraphs: list[tuple[str, str]], secret: str = "") -> str:
    """Composed from the running subgraphs; `secret` is the internal one, which ours need
    before they answer `_service` (a foreign subgraph ignores it)."""
    try:
        return await compose_from_urls(subgraphs, headers=sdl_headers(secret))
    except SubgraphSdlError as error:
        raise SupergraphLoadError(f"cannot compose the supergraph: {error}") from None
    except CompositionError as error:
        raise SupergraphLoadError(f"the subgraphs do not compose.\n{error}") from None


def load_supergraph(sdl: str, source: str) -> Supergraph:
    try:
        return Supergraph.from_sdl(sdl)
    except GraphQLError as error:  # a syntax error: its message and where
        where = "".join(f" (line {loc.line}, column {loc.column})" for loc in error.locations or ())
        raise SupergraphLoadError(f"{source} is not valid GraphQL SDL: {error.message}{where}") from None
    except SupergraphError as error:
        raise SupergraphLoadError(f"{source} is not a supergraph this router can serve: {error}") from None
    except (TypeError, ValueError) as error:  # graphql-core's schema building: unknown types, bad directives
        raise SupergraphLoadError(f"{source} does not build a schema: {error}") from None


async def serve(app, host: str, port: int, *, on_ready: Callable[[], None], http: str = "auto") -> None:
    """Serves `app` until SIGINT or SIGTERM (uvicorn's own handlers: a graceful shutdown).
    Imports nothing of the services (FastAPI and the rest): the router starts lean. `http`
    is uvicorn's HTTP protocol (the platform passes its edge-timeout one)."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, lifespan="on", log_level="info", access_log=False,
        ws_per_message_deflate=False,  # compressing each subscription event costs more CPU than it saves
        timeout_keep_alive=EDGE_IDLE_SECONDS,
        http=http,
        # Off: uvicorn would rewrite the peer from X-Forwarded-For for any local peer; whose
        # X-Forwarded-For is believed is the router's trusted_proxies' decision alone.
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # uvicorn exits on a bind error, having logged it
            raise SystemExit(f"mybroker router: could not start on {host}:{port}")
        await asyncio.sleep(0.01)
    on_ready()
    await task
