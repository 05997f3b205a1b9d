"""CORS: same-origin only by default; listed origins or any origin when configured."""
from __future__ import annotations

import aiohttp

from router.cors import CorsPolicy

from .edge_support import edge_router

ORIGIN = "https://app.example.com"
PREFLIGHT = {"origin": ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization"}


async def preflight(url: str, headers: dict) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        async with session.options(url + "/graphql", headers=headers) as response:
            await response.read()
            return response


async def cross_origin_post(url: str, origin: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/graphql", json={"query": "{ me { name } }"}, headers={"origin": origin}) as response:
            await response.read()
            return response


async def test_same_origin_only_by_default(supergraph, store):
    async with edge_router(supergraph, store) as (url, _):
        response = await preflight(url, PREFLIGHT)
        assert "access-control-allow-origin" not in response.headers
        response = await cross_origin_post(url, ORIGIN)
        assert response.status == 200 and "access-control-allow-origin" not in response.headers


async def test_listed_origins_with_credentials_and_max_age(supergraph, store):
    policy = CorsPolicy(allow_origins=(ORIGIN,), allow_credentials=True, max_age=120)
    async with edge_router(supergraph, store, cors=policy) as (url, _):
        response = await preflight(url, PREFLIGHT)
        assert response.status == 200
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert response.headers["access-control-allow-credentials"] == "true"
        assert response.headers["access-control-max-age"] == "120"
        assert "authorization" in response.headers["access-control-allow-headers"].lower()
        response = await cross_origin_post(url, ORIGIN)
        assert response.headers["access-control-allow-origin"] == ORIGIN
        response = await preflight(url, {**PREFLIGHT, "origin": "https://evil.example"})
        assert response.status == 400 and "access-control-allow-origin" not in response.headers
        response = await cross_origin_post(url, "https://evil.example")
        assert "access-control-allow-origin" not in response.headers


async def test_any_origin(supergraph, store):
    async with edge_router(supergraph, store, cors=CorsPolicy(allow_any_origin=True)) as (url, _):
        response = await cross_origin_post(url, "https://anywhere.example")
        assert response.headers["access-control-allow-origin"] == "*"
    credentials = CorsPolicy(allow_any_origin=True, allow_credentials=True)
    async with edge_router(supergraph, store, cors=credentials) as (url, _):
        response = await cross_origin_post(url, "https://anywhere.example")
        # With credentials browsers reject "*": the origin is echoed instead.
        assert response.headers["access-control-allow-origin"] == "https://anywhere.example"
