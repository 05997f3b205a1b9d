"""Building the supergraph from running subgraphs: ask each for its SDL
(`{ _service { sdl } }`) and compose. Used by the `mybroker` command at start-up.

Our subgraphs answer `_service` only beside the internal secret (the platform's
RouterOnlyIntrospection): callers pass `sdl_headers(secret)`."""
from __future__ import annotations

import asyncio
from typing import Mapping

import aiohttp
import orjson

from router.identity_headers import internal_headers
from router.compose import SubgraphDef, compose

SERVICE_SDL_QUERY = "query SubgraphSdl { _service { sdl } }"


class SubgraphSdlError(Exception):
    pass


def sdl_headers(secret: str) -> dict[str, str]:
    """The headers that prove an SDL request comes from the platform (none without a secret:
    a foreign subgraph, e.g. the router bench's, answers anyone)."""
    return internal_headers(secret) if secret else {}


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
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        raise SubgraphSdlError(f'subgraph "{name}" at {url} is unreachable ({type(error).__name__})') from None
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        answer = None
    try:
        sdl = answer["data"]["_service"]["sdl"]
    except (KeyError, TypeError):
        refusal = _first_error(answer)
        if refusal:
            raise SubgraphSdlError(
                f'subgraph "{name}" at {url} refused {{ _service {{ sdl }} }}: {refusal} '
                "(is MYBROKER_INTERNAL_SECRET the subgraphs' secret?)"
            ) from None
        raise SubgraphSdlError(f'subgraph "{name}" at {url} did not answer {{ _service {{ sdl }} }}') from None
    if not isinstance(sdl, str):
        raise SubgraphSdlError(f'subgraph "{name}" at {url} answered no SDL')
    return SubgraphDef(name, url, sdl)


def _first_error(answer: object) -> str | None:
    """`CODE: message` of a GraphQL answer's first error, or None."""
    try:
        error = answer["errors"][0]  # type: ignore[index]
        return f"{error.get('extensions', {}).get('code', 'ERROR')}: {error.get('message', '')}"
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


async def compose_from_urls(subgraphs: list[tuple[str, str]], *, headers: Mapping[str, str] | None = None) -> str:
    """The supergraph SDL of the subgraphs [(name, url), ...]; raises SubgraphSdlError or
    CompositionError."""
    definitions = await asyncio.gather(*(fetch_subgraph_sdl(name, url, headers=headers) for name, url in subgraphs))
    return compose(list(definitions))
