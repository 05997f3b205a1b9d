"""The router is a process of its own under the platform (as `mybroker up` runs it): killed
with -9, it is started again and serves the same API on the same port."""
from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

QUOTE = '{ asset(ticker: "PETR4") { ticker } }'


async def answers(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.post(url, json={"query": QUOTE}) as response:
            return (await response.json()).get("data") == {"asset": {"ticker": "PETR4"}}
    except aiohttp.ClientError:
        return False


async def test_a_killed_router_is_started_again_by_the_platform(platform, http):
    router = platform._router
    assert router is not None, "the platform runs its router as a child process"
    first = router.pid
    assert await answers(http, platform.router_url)
    os.kill(first, signal.SIGKILL)
    deadline = asyncio.get_running_loop().time() + 60
    while not (router.pid != first and await answers(http, platform.router_url)):
        assert asyncio.get_running_loop().time() < deadline, "the router did not come back within 60 s"
        await asyncio.sleep(0.1)  # a readiness poll on the router's own answer
    assert router.pid != first
