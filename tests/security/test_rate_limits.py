"""Floods at the router (issue 13), with production's rate limits: one address's flood is
refused with 429, RATE_LIMITED and Retry-After while another address is still served, and
an X-Forwarded-For made up by a client that is not a trusted proxy does not buy it a fresh
bucket. The buckets' clock is frozen, so no token flows back during a flood and the counts
are exact; the requests are real HTTP over sockets."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from launch.production import production_router_options
from router.compose import compose
from router.options import config_fields, defaults
from router.supergraph import Supergraph
from tests.unit.router.edge_support import edge_router
from tests.unit.router.router_fixture_subgraphs import Store, subgraph_defs

pytestmark = pytest.mark.asyncio

QUERY = {"query": "{ warehouseCount }"}
PRODUCTION = config_fields(production_router_options(defaults()))["rate_limits"]
ATTACKER, BYSTANDER = "203.0.113.66", "203.0.113.77"


def frozen() -> float:
    return 1000.0


@pytest.fixture(scope="module")
def supergraph() -> Supergraph:
    return Supergraph.from_sdl(compose(subgraph_defs()))


async def flood(url: str, count: int, forwarded_for) -> list[tuple[int, str | None, dict]]:
    """`count` concurrent anonymous POSTs; `forwarded_for(n)` is request n's X-Forwarded-For."""
    async with aiohttp.ClientSession() as session:

        async def one(n: int):
            async with session.post(url + "/graphql", json=QUERY, headers={"X-Forwarded-For": forwarded_for(n)}) as response:
                return response.status, response.headers.get("Retry-After"), await response.json()

        return await asyncio.gather(*(one(n) for n in range(count)))


async def test_an_anonymous_flood_from_one_address_is_refused_while_others_are_served(supergraph):
    burst = int(PRODUCTION.ip.burst)
    config = {"rate_limits": PRODUCTION, "rate_limit_clock": frozen, "trusted_proxies": frozenset({"127.0.0.1"})}
    async with edge_router(supergraph, Store(), **config) as (url, _):
        answers = await flood(url, burst + 50, lambda n: ATTACKER)
        served = [body for status, _, body in answers if status == 200]
        refused = [(retry_after, body) for status, retry_after, body in answers if status == 429]
        assert len(served) == burst and len(refused) == 50
        assert all(body == {"data": {"warehouseCount": 3}} for body in served)
        for retry_after, body in refused:
            assert retry_after == "1"  # 50 tokens a second: the next one within a second
            (error,) = body["errors"]
            assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1} and "data" not in body
        bystander = await flood(url, 5, lambda n: BYSTANDER)
        assert [status for status, _, _ in bystander] == [200] * 5


async def test_a_made_up_forwarded_for_from_an_untrusted_peer_does_not_reset_the_bucket(supergraph):
    burst = int(PRODUCTION.ip.burst)
    # A proxy is configured, but the attacker (127.0.0.1 here) is not it: its header is ignored.
    config = {"rate_limits": PRODUCTION, "rate_limit_clock": frozen, "trusted_proxies": frozenset({"10.0.0.1"})}
    async with edge_router(supergraph, Store(), **config) as (url, _):
        answers = await flood(url, burst + 20, lambda n: f"198.51.100.{n % 250}, 10.0.0.1")
        statuses = [status for status, _, _ in answers]
        assert statuses.count(200) == burst and statuses.count(429) == 20
        again = await flood(url, 3, lambda n: f"192.0.2.{n}")
        assert [status for status, _, _ in again] == [429] * 3

