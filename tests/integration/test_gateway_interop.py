"""Our supergraph is a standard one: composed from the platform's running subgraphs by our
composer, it loads in Apollo Gateway and in Hive Gateway, and both answer a query from the
subgraphs exactly as our router does.

Needs Node and npm: the gateways are installed from bench/gateways/package-lock.json with
`npm ci` into a cache folder (MYBROKER_BENCH_CACHE, default ~/.cache/mybroker-bench),
once per lock; Hive Gateway's Node 22 comes from npm the same way when the system's node
is older (bench.processes)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from mybroker.settings import SERVICES
from bench.processes import Process, cache_dir, ensure_node, free_port, install_gateways
from bench.router.compare import gateway_process
from router.discovery import compose_from_urls, sdl_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

ASSETS = "{ assets { ticker name } }"


async def _answer(http: aiohttp.ClientSession, url: str, query: str) -> dict:
    async with http.post(url, json={"query": query}, headers={"content-type": "application/json"}) as response:
        return await response.json(content_type=None)


async def _wait_until_serving(http: aiohttp.ClientSession, process: Process, url: str, timeout: float = 90.0) -> None:
    """Polls without blocking the loop: the platform's subgraphs run on this same loop."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        assert process.popen.poll() is None, f"{process.name} exited:\n{process.log_tail()}"
        try:
            if "data" in await _answer(http, url, "{ __typename }"):
                return
        except (aiohttp.ClientError, ValueError):
            pass
        await asyncio.sleep(0.25)
    raise AssertionError(f"{process.name} did not serve {url} within {timeout:.0f}s:\n{process.log_tail()}")


@pytest.fixture(scope="module")
def gateways_folder():
    return cache_dir() / "gateways"


@pytest.mark.parametrize("gateway", ["apollo", "hive"])
async def test_our_supergraph_loads_and_answers_in(gateway, platform, http, tmp_path, gateways_folder):
    await asyncio.to_thread(ensure_node)  # slow only the first time; the platform keeps running meanwhile
    await asyncio.to_thread(install_gateways, gateways_folder)
    supergraph = tmp_path / "supergraph.graphql"
    subgraphs = [(name, platform.settings.graphql_url(name)) for name in SERVICES]
    supergraph.write_text(await compose_from_urls(subgraphs, headers=sdl_headers(platform.settings.internal_secret)))
    expected = await _answer(http, platform.router_url, ASSETS)
    assert expected.get("data", {}).get("assets"), expected

    port = free_port()
    process = gateway_process(gateway, supergraph, port, cpus=set(), folder=gateways_folder)  # not pinned
    process.start(tmp_path)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        await _wait_until_serving(http, process, url)
        answer = await _answer(http, url, ASSETS)
        assert "errors" not in answer, answer
        assert answer["data"] == expected["data"]
    finally:
        await asyncio.to_thread(process.stop)
