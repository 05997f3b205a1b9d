"""Live data through the router on the whole platform, over each subscription transport
(graphql-transport-ws, graphql-sse, multipart HTTP): quotes for the asked tickers only,
a trader's order updates in order with fields from other subgraphs, nothing for anyone
else, and a bad token refused."""
from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

TRANSPORTS = ("ws", "sse", "multipart")
QUOTES = "subscription($t: [ID!]!) { quotes(tickers: $t) { ticker price time } }"
ORDER_UPDATES = "subscription { orderUpdates { id status filledQuantity asset { ticker name quote { price } } } }"
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"
DEPOSIT = 'mutation { deposit(amount: "100000.00") { available } }'
PLACE = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }"
QUOTE = 'query { asset(ticker: "PETR4") { quote { price } } }'
LIFECYCLE = ["PENDING", "OPEN", "PARTIALLY_FILLED", "FILLED"]


class Refused(Exception):
    """The router refused the subscription: (HTTP status or close code, error code or reason)."""


@contextlib.asynccontextmanager
async def subscription(transport: str, url: str, query: str, variables: dict | None = None, token: str | None = None):
    """An async iterator over the execution results the router sends."""
    body = {"query": query, "variables": variables or {}}
    if transport == "ws":
        async with websockets.connect(url.replace("http://", "ws://"), subprotocols=["graphql-transport-ws"]) as ws:
            payload = {"Authorization": f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            try:
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            except ConnectionClosed as closed:
                raise Refused(closed.rcvd.code, closed.rcvd.reason) from None
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": body}))
            yield _ws_results(ws)
        return
    headers = {"authorization": f"Bearer {token}"} if token else {}
    headers["accept"] = "text/event-stream" if transport == "sse" else 'multipart/mixed;subscriptionSpec="1.0",application/json'
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as response:
        if response.status != 200:
            raise Refused(response.status, (await response.json())["errors"][0]["extensions"]["code"])
        yield _sse_results(response) if transport == "sse" else _multipart_results(response)


async def _ws_results(ws):
    async for raw in ws:
        message = json.loads(raw)
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif message["type"] == "next":
            yield message["payload"]
        elif message["type"] == "error":
            yield {"errors": message["payload"]}
            return
        elif message["type"] == "complete":
            return


async def _sse_results(response):
    event = None
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event == "next":
            yield json.loads(line[5:])
        elif line.startswith("data:") and event == "complete":
            return


async def _multipart_results(response):
    buffer = b""
    async for chunk in response.content.iter_any():
        buffer += chunk
        parts = buffer.split(b"\r\n--graphql")
        buffer = parts.pop()  # possibly incomplete
        for part in parts:
            _, _, body = part.partition(b"\r\n\r\n")
            if body.strip():
                decoded = json.loads(body)
                if decoded:  # {} is a heartbeat
                    yield decoded["payload"] if decoded.get("payload") is not None else {"errors": decoded["errors"]}
        if buffer.startswith(b"--"):
            return


async def collect(results, *, count: int | None = None, until=None, timeout: float = 20.0) -> list[dict]:
    """Results until `count` arrived or one satisfies `until`."""
    received: list[dict] = []
    async with asyncio.timeout(timeout):
        async for result in results:
            assert "errors" not in result, result
            received.append(result)
            if len(received) == count or (until is not None and until(result)):
                break
    return received


async def trader(new_client) -> object:
    client = new_client()
    email = f"live-{uuid.uuid4().hex[:8]}@example.com"
    data = await client.execute(REGISTER, {"input": {"email": email, "password": "correct horse battery", "name": "Live"}})
    client.token = data["register"]["accessToken"]
    await client.execute(DEPOSIT)
    await client.until(QUOTE, None, lambda d: d["asset"]["quote"] is not None)
    return client


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_quotes_arrive_for_the_asked_tickers_only(platform, transport):
    async with subscription(transport, platform.router_url, QUOTES, {"t": ["PETR4", "VALE3"]}) as results:
        quotes = [result["data"]["quotes"] for result in await collect(results, count=6)]
    assert {quote["ticker"] for quote in quotes} <= {"PETR4", "VALE3"}
    assert all(float(quote["price"]) > 0 and quote["time"] for quote in quotes)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_order_updates_arrive_in_order_with_fields_from_other_subgraphs(platform, new_client, transport):
    buyer, other = await trader(new_client), await trader(new_client)
    order = {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100}
    async with (
        subscription(transport, platform.router_url, ORDER_UPDATES, token=buyer.token) as mine,
        subscription("ws", platform.router_url, ORDER_UPDATES, token=other.token) as theirs,
    ):
        # No protocol says when the subgraph's live feed is listening: the first order's
        # updates showing up proves it is, then the second order is watched from PENDING on.
        warm_up = (await buyer.execute(PLACE, {"input": order}))["placeOrder"]["id"]
        await collect(mine, until=lambda r: r["data"]["orderUpdates"]["id"] == warm_up and r["data"]["orderUpdates"]["status"] == "FILLED")
        placed = (await buyer.execute(PLACE, {"input": order}))["placeOrder"]
        updates = [
            r["data"]["orderUpdates"]
            for r in await collect(mine, until=lambda r: r["data"]["orderUpdates"]["id"] == placed["id"] and r["data"]["orderUpdates"]["status"] == "FILLED")
        ]
        updates = [update for update in updates if update["id"] == placed["id"]]
        # The other trader's subscription saw nothing of all this.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await anext(theirs)
    statuses = [update["status"] for update in updates]
    assert statuses[0] == "PENDING" and statuses[-1] == "FILLED"
    assert statuses == sorted(statuses, key=LIFECYCLE.index) and "OPEN" in statuses
    assert updates[-1]["filledQuantity"] == 100
    for update in updates:
        assert update["asset"]["ticker"] == "PETR4" and update["asset"]["name"] == "Petrobras PN"
        assert float(update["asset"]["quote"]["price"]) > 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_bad_token_is_refused(platform, transport):
    refused = (4403, "Forbidden") if transport == "ws" else (401, "UNAUTHENTICATED")
    with pytest.raises(Refused) as caught:
        async with subscription(transport, platform.router_url, ORDER_UPDATES, token="forged.token.value"):
            pass
    assert caught.value.args == refused


async def test_anonymous_order_updates_are_unauthenticated(platform):
    async with subscription("ws", platform.router_url, ORDER_UPDATES) as results:
        async with asyncio.timeout(10):
            first = await anext(results)
    assert first["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
