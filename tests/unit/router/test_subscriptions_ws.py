"""Subscriptions through the router over graphql-transport-ws: events with fields from
another subgraph, one shared upstream per identical subscription and caller, the
protocol's messages and close codes, and clean-up on either side's disconnect."""
from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from router.limits import OperationLimits

from .subscription_fixture_subgraphs import SubscriptionSettings, deployment, eventually, subscription_tasks
from .test_router_http import rsa_key, token

TICKS = 'subscription($t: [ID!]!) { ticks(tickers: $t) { ticker seq price stock { name } } }'
ALERTS = "subscription { alerts { text stock { ticker name } } }"


@pytest.fixture(scope="module")
def signing_key():
    return rsa_key()


@pytest.fixture
async def deployed(signing_key):
    async with deployment(signing_key) as running:
        yield running


@contextlib.asynccontextmanager
async def connect(deployed, *, headers=None, subprotocols=("graphql-transport-ws",)):
    async with websockets.connect(deployed.ws_url, subprotocols=list(subprotocols) or None, additional_headers=headers) as ws:
        yield ws


async def send(ws, message: dict) -> None:
    await ws.send(json.dumps(message))


async def receive(ws, timeout: float = 5.0, *, pings: bool = False) -> dict:
    """The next message within `timeout` seconds, answering the server's pings on the way."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "ping" and not pings:
                await send(ws, {"type": "pong"})
                continue
            return message


async def initialise(ws, bearer: str | None = None) -> None:
    payload = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    await send(ws, {"type": "connection_init", "payload": payload})
    assert await receive(ws) == {"type": "connection_ack"}


async def subscribe(ws, operation_id: str, query: str, variables: dict | None = None) -> None:
    await send(ws, {"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})


async def close_of(ws) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 5.0)
    return closed.value.rcvd.code, closed.value.rcvd.reason


def tick(ticker: str, seq: int, price: str = "10.00") -> dict:
    return {"kind": "tick", "ticker": ticker, "seq": seq, "price": price}


async def test_ticks_arrive_for_the_asked_tickers_only_with_fields_from_the_other_subgraph(deployed):
    async with connect(deployed) as ws:
        await initialise(ws)
        await subscribe(ws, "1", TICKS, {"t": ["AAA"]})
        await eventually(lambda: deployed.feed.active == 1)
        for event in (tick("AAA", 1, "10.50"), tick("BBB", 1), tick("AAA", 2, "10.75")):
            deployed.feed.publish(event)
        first, second = await receive(ws), await receive(ws)
        assert first == {"id": "1", "type": "next", "payload": {"data": {"ticks": {"ticker": "AAA", "seq": 1, "price": "10.50", "stock": {"name": "Alpha Mining"}}}}}
        assert second["payload"]["data"]["ticks"]["seq"] == 2
        await send(ws, {"id": "1", "type": "complete"})
        await eventually(lambda: deployed.feed.active == 0 and deployed.hub.upstreams == 0)


async def test_identical_subscriptions_share_one_upstream_until_the_last_client_leaves(deployed):
    async with connect(deployed) as first, connect(deployed) as second:
        await initialise(first)
        await initialise(second)
        await subscribe(first, "a", TICKS, {"t": ["AAA"]})
        await subscribe(second, "b", TICKS, {"t": ["AAA"]})
        await subscribe(second, "c", TICKS, {"t": ["BBB"]})  # other variables: its own upstream
        await eventually(lambda: deployed.engine.clients == 3 and deployed.hub.upstreams == 2)
        await eventually(lambda: deployed.feed.active == 2)
        deployed.feed.publish(tick("AAA", 7))
        assert (await receive(first))["payload"]["data"]["ticks"]["seq"] == 7
        assert (await receive(second))["id"] == "b"
        await send(first, {"id": "a", "type": "complete"})
        await eventually(lambda: deployed.engine.clients == 2)
        assert deployed.feed.active == 2  # "b" still holds the AAA upstream
        deployed.feed.publish(tick("AAA", 8))
        assert (await receive(second))["payload"]["data"]["ticks"]["seq"] == 8
    # Both sockets dropped without a word: every upstream closes at the subgraph.
    await eventually(lambda: deployed.feed.active == 0 and deployed.hub.upstreams == 0)
    assert deployed.feed.opened == 2
    await eventually(lambda: not subscription_tasks())  # nothing left running in the router


async def test_alerts_are_per_caller_and_anonymous_callers_get_unauthenticated(deployed, signing_key):
    async with connect(deployed) as ana, connect(deployed, headers={"Authorization": f"Bearer {token(signing_key, sub='bia')}"}) as bia, connect(deployed) as anon:
        await initialise(ana, token(signing_key, sub="ana"))
        await initialise(bia)  # the token from the upgrade request's header
        await initialise(anon)
        await subscribe(ana, "1", ALERTS)
        await subscribe(bia, "1", ALERTS)
        await eventually(lambda: deployed.feed.active == 2)  # one upstream per caller
        deployed.feed.publish({"kind": "alert", "user": "bia", "text": "margin call", "ticker": "BBB"})
        message = await receive(bia)
        assert message["payload"] == {"data": {"alerts": {"text": "margin call", "stock": {"ticker": "BBB", "name": "Beta Bank"}}}}
        with pytest.raises(asyncio.TimeoutError):
            await receive(ana, timeout=0.3)
        await subscribe(anon, "1", ALERTS)
        message = await receive(anon)
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_bad_token_is_refused_with_4403(deployed, signing_key):
    async with connect(deployed) as ws:
        await send(ws, {"type": "connection_init", "payload": {"Authorization": "Bearer not-a-jwt"}})
        assert await close_of(ws) == (4403, "Forbidden")
    expired = token(signing_key, ttl=-60)
    async with connect(deployed, headers={"Authorization": f"Bearer {expired}"}) as ws:
        await send(ws, {"type": "connection_init"})
        assert await close_of(ws) == (4403, "Forbidden")


@pytest.mark.parametrize(
    "messages, close",
    [
        ([{"type": "subscribe", "id": "1", "payload": {"query": "subscription { countdown(start: 1) }"}}], (4401, "Unauthorized")),
        ([{"type": "connection_init"}, {"type": "connection_init"}], (4429, "Too many initialisation requests")),
        ([{"type": "connection_init"}, {"type": "subscribe", "id": "x", "payload": {"query": TICKS, "variables": {"t": ["AAA"]}}},
          {"type": "subscribe", "id": "x", "payload": {"query": TICKS, "variables": {"t": ["AAA"]}}}], (4409, "Subscriber for x already exists")),
        ([{"type": "connection_init"}, {"type": "subscribe", "payload": {"query": "{ marketOpen }"}}], (4400, "Invalid message received")),
        (["not json"], (4400, "Invalid message received")),
        ([b"\x00binary"], (4400, "Invalid message received")),
        ([{"type": "launch"}], (4400, "Unexpected message type 'launch'")),
    ],
)
async def test_protocol_violations_close_with_the_protocols_codes(deployed, messages, close):
    async with connect(deployed) as ws:
        for message in messages:
            await ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
        assert await close_of(ws) == close


async def test_subprotocol_and_initialisation_timeout(signing_key):
    async with deployment(signing_key, SubscriptionSettings(init_timeout=0.1)) as deployed:
        async with connect(deployed, subprotocols=()) as ws:
            assert await close_of(ws) == (4406, "Subprotocol not acceptable")
        async with connect(deployed) as ws:
            assert await close_of(ws) == (4408, "Connection initialisation timeout")


async def test_ping_pong_and_server_keepalive(deployed):
    async with connect(deployed) as ws:
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        await initialise(ws)
        assert await receive(ws, pings=True) == {"type": "ping"}  # every ws_keepalive (0.2 s here)


@pytest.mark.parametrize(
    "query, code",
    [
        ("subscription { nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("subscription { countdown(start: 1) ticks(tickers: []) { seq } }", "GRAPHQL_VALIDATION_FAILED"),
        ("subscription { countdown(start: \"x\") }", "BAD_USER_INPUT"),
        ("subscription { ticks(tickers: [\"AAA\"]) { stock { name } stock2: stock { name } stock3: stock { ticker } } }", None),
        ("subscription { ticks(tickers: [\"AAA\"]) { stock { name } } } } }", "GRAPHQL_PARSE_FAILED"),
    ],
)
async def test_request_errors_are_error_messages_with_codes(deployed, query, code):
    async with connect(deployed) as ws:
        await initialise(ws)
        await subscribe(ws, "1", query)
        if code is None:  # a valid operation: nothing until an event
            with pytest.raises(asyncio.TimeoutError):
                await receive(ws, timeout=0.2)
            return
        message = await receive(ws)
        assert message["type"] == "error" and message["id"] == "1"
        assert message["payload"][0]["extensions"]["code"] == code


async def test_operation_limits_apply_to_subscriptions(signing_key):
    async with deployment(signing_key, limits=OperationLimits(max_depth=2)) as deployed, connect(deployed) as ws:
        await initialise(ws)
        await subscribe(ws, "deep", "subscription { alerts { stock { name } } }")
        message = await receive(ws)
        assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "OPERATION_TOO_COMPLEX"
        # At most 3 operations per connection here (max_operations_per_connection).
        for n in range(4):
            await subscribe(ws, str(n), TICKS.replace(" stock { name }", ""), {"t": ["AAA"]})
        message = await receive(ws)
        assert message == {"id": "3", "type": "error", "payload": [message["payload"][0]]}
        assert message["payload"][0]["extensions"]["code"] == "OPERATION_TOO_COMPLEX"


async def test_an_upstream_that_completes_completes_the_client(deployed):
    async with connect(deployed) as ws:
        await initialise(ws)
        await subscribe(ws, "1", "subscription { countdown(start: 3) }")
        received = [await receive(ws) for _ in range(4)]
        assert [m.get("payload", {}).get("data") for m in received[:3]] == [{"countdown": 3}, {"countdown": 2}, {"countdown": 1}]
        assert received[3] == {"id": "1", "type": "complete"}
        await eventually(lambda: deployed.hub.upstreams == 0)


async def test_a_subgraph_error_keeps_its_code_and_hides_internals(deployed):
    async with connect(deployed) as ws:
        await initialise(ws)
        await subscribe(ws, "1", "subscription { broken }")
        assert (await receive(ws))["payload"] == {"data": {"broken": 1}}
        failure = await receive(ws)
        error = failure["payload"]["errors"][0]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and error["extensions"]["requestId"]
        assert "hunter2" not in json.dumps(failure)
        assert await receive(ws) == {"id": "1", "type": "complete"}


async def test_a_query_over_the_socket_answers_once(deployed):
    async with connect(deployed) as ws:
        await initialise(ws)
        await subscribe(ws, "q", '{ stock(ticker: "AAA") { name } marketOpen }')
        assert await receive(ws) == {"id": "q", "type": "next", "payload": {"data": {"stock": {"name": "Alpha Mining"}, "marketOpen": True}}}
        assert await receive(ws) == {"id": "q", "type": "complete"}


async def test_a_subgraph_that_goes_away_ends_the_subscription_with_an_error(deployed):
    async with connect(deployed) as ws:
        await initialise(ws)
        await subscribe(ws, "1", TICKS, {"t": ["AAA"]})
        await eventually(lambda: deployed.feed.active == 1)
        await deployed.stop_market()
        message = await receive(ws)
        assert message["type"] == "error" and message["id"] == "1"
        assert message["payload"][0]["extensions"] == {**message["payload"][0]["extensions"], "code": "INTERNAL_SERVER_ERROR", "service": "market"}
        await eventually(lambda: deployed.hub.upstreams == 0)
        await send(ws, {"type": "ping"})  # the client's connection lives on
        assert await receive(ws) == {"type": "pong"}
