"""Prometheus metrics at GET /metrics: requests by kind and outcome, errors by code,
latency, and per-subgraph fetches; each app has its own registry."""
from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from .edge_support import edge_router
from .test_router_http import get, post


async def scrape(url: str) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/metrics") as response:
            assert response.status == 200
            assert response.headers["content-type"].startswith("text/plain")
            text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_requests_errors_and_fetches_are_counted(supergraph, store):
    async with edge_router(supergraph, store) as (url, _):
        await post(url, {"query": "{ me { name } }"})
        await post(url, {"query": "{ me { reviews { body } } }"})  # two fetches: accounts, reviews
        await post(url, {"query": "{ me { nope } }"})
        await post(url, {"query": 'mutation { renameUser(id: "1", name: "Grace") { name } }'})
        status, _body, _ = await get(url, {"query": "{ me { name } }"})  # refused at the door (CSRF)
        assert status == 400
        samples = await scrape(url)
    assert samples[("router_requests_total", (("kind", "query"), ("outcome", "success")))] == 2
    assert samples[("router_requests_total", (("kind", "unknown"), ("outcome", "error")))] == 2
    assert samples[("router_errors_total", (("code", "BAD_USER_INPUT"),))] == 1
    # Timed: the requests that reached the pipeline, not the one refused at the door.
    assert samples[("router_request_duration_seconds_count", (("kind", "unknown"),))] == 1
    assert samples[("router_requests_total", (("kind", "mutation"), ("outcome", "success")))] == 1
    assert samples[("router_errors_total", (("code", "GRAPHQL_VALIDATION_FAILED"),))] == 1
    assert samples[("router_request_duration_seconds_count", (("kind", "query"),))] == 2
    assert samples[("router_subgraph_fetches_total", (("subgraph", "accounts"),))] == 3
    assert samples[("router_subgraph_fetches_total", (("subgraph", "reviews"),))] == 1
    assert samples[("router_subgraph_fetch_duration_seconds_count", (("subgraph", "reviews"),))] == 1
    assert ("router_subgraph_fetch_errors_total", (("subgraph", "accounts"),)) not in samples


async def test_partial_results_and_subgraph_errors(supergraph, store):
    async with edge_router(supergraph, store) as (url, _):
        # upc 4's inStock fails in the inventory subgraph: data with errors.
        status, body = await post(url, {"query": "{ topProducts(first: 4) { upc inStock } }"})
        assert status == 200 and body["data"] and body["errors"]
        samples = await scrape(url)
    assert samples[("router_requests_total", (("kind", "query"), ("outcome", "partial")))] == 1
    assert samples[("router_subgraph_fetch_errors_total", (("subgraph", "inventory"),))] == 1
    assert samples[("router_errors_total", (("code", "UNKNOWN_ASSET"),))] == 1


async def test_two_routers_keep_their_own_counts_and_metrics_can_be_off(supergraph, store):
    async with edge_router(supergraph, store) as (first, _), edge_router(supergraph, store) as (second, _):
        await post(first, {"query": "{ me { name } }"})
        assert ("router_requests_total", (("kind", "query"), ("outcome", "success"))) not in await scrape(second)
    async with edge_router(supergraph, store, metrics=False) as (url, app):
        assert app.state.metrics is None
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/metrics") as response:
                assert response.status == 404
