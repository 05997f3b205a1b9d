"""Internal calls are idempotent by key, so one whose pooled connection died without an
answer is sent once more; a refused connection is not retried."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from fastapi import Request  # module level: FastAPI resolves the handler's annotation here

from mybroker.errors import DomainError, ErrorCode
from mybroker.internal_http import InternalClient
from tests.support.closing_server import ClosingServer


@pytest.mark.asyncio
async def test_a_post_on_a_connection_the_server_closed_is_sent_again():
    async with ClosingServer({"reserved": True}) as server:
        client = InternalClient(server.url.removesuffix("/graphql"), "secret")
        try:
            body = {"orderId": "o-1", "quantity": 100}
            assert await client.call("POST", "/internal/reservations", body) == {"reserved": True}
            assert await client.call("POST", "/internal/reservations", body) == {"reserved": True}
        finally:
            await client.close()
    assert server.dropped == 1
    assert len(server.bodies) == 2


@pytest.mark.asyncio
async def test_a_refused_connection_is_raised():
    async with ClosingServer({}) as server:
        base = server.url.removesuffix("/graphql")
    client = InternalClient(base, "secret")
    try:
        with pytest.raises(aiohttp.ClientConnectorError):
            await client.call("GET", "/internal/assets/PETR4")
    finally:
        await client.close()


def test_clients_drop_idle_connections_before_the_servers_do():
    from mybroker.internal_http import INTERNAL_IDLE_SECONDS
    from launch.platform import SERVER_IDLE_SECONDS
    from router.subgraph_client import SUBGRAPH_IDLE_SECONDS

    assert INTERNAL_IDLE_SECONDS < SERVER_IDLE_SECONDS
    assert SUBGRAPH_IDLE_SECONDS < SERVER_IDLE_SECONDS


def _internal_app(release: asyncio.Event | None = None, finished: list[str] | None = None):
    """A service app with one internal API, as the subgraphs build theirs."""
    from mybroker.service import internal_api, service_app

    app = service_app("test")
    router = internal_api("secret")

    @router.post("/reservations")
    async def reserve(request: Request) -> dict:
        body = await request.json()
        if body["quantity"] > 100:
            raise DomainError(ErrorCode.INSUFFICIENT_FUNDS, "Saldo insuficiente.")
        if body["quantity"] == 13:
            raise ValueError("a bug in the handler")
        if release is not None:
            await release.wait()
            finished.append(body["orderId"])
        return {"orderId": body["orderId"], "quantity": body["quantity"], "query": request.url.query}

    app.include_router(router)
    return app


@pytest.mark.asyncio
async def test_a_sibling_served_in_this_process_answers_in_process_exactly_as_over_http():
    """The same app through a socket and straight through ASGI: the same answers, the same
    refusals (the contract's DomainError, FORBIDDEN without the secret, a 500 for a bug)."""
    import uvicorn

    app = _internal_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    over_http = InternalClient(base, "secret")
    in_process = InternalClient(base, "secret", local_app=lambda: app)
    wrong_secret = [InternalClient(base, "wrong"), InternalClient(base, "wrong", local_app=lambda: app)]
    try:
        outcomes = []
        for client in (over_http, in_process):
            answer = await client.call("POST", "/internal/reservations?via=test", {"orderId": "o-1", "quantity": 10})
            with pytest.raises(DomainError) as refused:
                await client.call("POST", "/internal/reservations", {"orderId": "o-2", "quantity": 500})
            with pytest.raises(RuntimeError) as bug:
                await client.call("POST", "/internal/reservations", {"orderId": "o-3", "quantity": 13})
            outcomes.append((answer, refused.value.code, refused.value.message, "HTTP 500" in str(bug.value)))
        assert outcomes[0] == outcomes[1] == (
            {"orderId": "o-1", "quantity": 10, "query": "via=test"}, ErrorCode.INSUFFICIENT_FUNDS, "Saldo insuficiente.", True,
        )
        forbidden = []
        for client in wrong_secret:
            with pytest.raises(RuntimeError) as refused:
                await client.call("POST", "/internal/reservations", {"orderId": "o-4", "quantity": 1})
            forbidden.append(str(refused.value).split(": ", 1)[0])
        assert forbidden == ["POST /internal/reservations answered HTTP 403"] * 2
    finally:
        for client in (over_http, in_process, *wrong_secret):
            await client.close()
        server.should_exit = True
        await serving


@pytest.mark.asyncio
async def test_an_in_process_call_that_times_out_leaves_the_handler_to_finish():
    """As with a server: the caller stops waiting, the handler is not cut off halfway."""
    release, finished = asyncio.Event(), []
    app = _internal_app(release, finished)
    client = InternalClient("http://127.0.0.1:9", "secret", timeout=0.05, local_app=lambda: app)
    with pytest.raises(asyncio.TimeoutError):
        await client.call("POST", "/internal/reservations", {"orderId": "o-slow", "quantity": 1})
    assert finished == []
    release.set()
    while not finished:
        await asyncio.sleep(0.01)
    assert finished == ["o-slow"]
