"""Building the supergraph from running subgraphs: ask each for its SDL
(`{ _service { sdl } }`) and compose. Used by the `mybroker` command at start-up."""
from __future__ import annotations

import asyncio
from typing import Mapping

import aiohttp
import orjson

from router.compose import SubgraphDef, compose

SERVICE_SDL_QUERY = "query SubgraphSdl { _service { sdl } }"


class SubgraphSdlError(Exception):
    pass


async def fetch_subgraph_sdl(
    name: str, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0
) -> SubgraphDef:
    """Subgraph `name`'s SDL, fetched from its GraphQL endpoint `url`."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.post(
                url,
                data=orjson.dumps({"query": SERVICE_SDL_QUERY}),
                headers={"content-type": "application/json", **(headers or {})},
            ) as response:
                raw = await response.read()
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        raise SubgraphSdlError(f'subgraph "{name}" at {url} is unreachable ({type(error).__name__})') from None
    try:
        sdl = orjson.loads(raw)["data"]["_service"]["sdl"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise SubgraphSdlError(f'subgraph "{name}" at {url} did not answer {{ _service {{ sdl }} }}') from None
    if not isinstance(sdl, str):
        raise SubgraphSdlError(f'subgraph "{name}" at {url} answered no SDL')
    return SubgraphDef(name, url, sdl)


async def compose_from_urls(subgraphs: list[tuple[str, str]], *, headers: Mapping[str, str] | None = None) -> str:
    """The supergraph SDL of the subgraphs [(name, url), ...]; raises SubgraphSdlError or
    CompositionError."""
    definitions = await asyncio.gather(*(fetch_subgraph_sdl(name, url, headers=headers) for name, url in subgraphs))
    return compose(list(definitions))
