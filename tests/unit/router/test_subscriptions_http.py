"""Subscriptions over the streaming HTTP transports at /graphql: graphql-sse (distinct
connections mode) and Apollo's multipart subscriptions, chosen by the Accept header."""
from __future__ import annotations

import asyncio
import json
import urllib.parse

import aiohttp
import pytest

from .subscription_fixture_subgraphs import deployment, eventually, subscription_tasks
from .test_router_http import rsa_key, token

TICKS = 'subscription($t: [ID!]!) { ticks(tickers: $t) { ticker seq stock { name } } }'
SSE = {"accept": "text/event-stream"}
MULTIPART = {"accept": 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0",application/json'}


@pytest.fixture(scope="module")
def signing_key():
    return rsa_key()


@pytest.fixture
async def deployed(signing_key):
    async with deployment(signing_key) as running:
        yield running


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def sse_events(response: aiohttp.ClientResponse):
    """(event, data) per SSE event; comments come as ("comment", text)."""
    event, data = None, []
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith(":"):
            yield "comment", line[1:]
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and event is not None:
            yield event, json.loads("\n".join(data)) if any(data) else None
            event, data = None, []


async def multipart_parts(response: aiohttp.ClientResponse):
    """Each part's JSON; ends at the closing boundary."""
    buffer = b""
    async for chunk in response.content.iter_any():
        buffer += chunk
        while True:
            start = buffer.find(b"\r\n--graphql")
            end = buffer.find(b"\r\n--graphql", start + 1)
            if start == -1:
                break
            if buffer[start:].startswith(b"\r\n--graphql--"):
                return
            if end == -1:
                break
            part, buffer = buffer[start:end], buffer[end:]
            headers, _, body = part.partition(b"\r\n\r\n")
            assert b"content-type: application/json" in headers.lower()
            yield json.loads(body)


async def next_event(events, timeout: float = 5.0, *, skip=("comment",)):
    async with asyncio.timeout(timeout):
        async for item in events:
            if item[0] not in skip:
                return item
    return None


async def test_sse_quotes_for_the_asked_tickers_only_and_disconnect_closes_upstream(deployed, http):
    body = {"query": TICKS, "variables": {"t": ["AAA"]}}
    async with http.post(deployed.router_url + "/graphql", json=body, headers=SSE) as response:
        assert response.status == 200 and response.content_type == "text/event-stream"
        events = sse_events(response)
        assert await next_event(events, skip=()) == ("comment", "")  # the keepalive of a quiet stream
        await eventually(lambda: deployed.feed.active == 1)
        for ticker, seq in (("BBB", 1), ("AAA", 1), ("AAA", 2)):
            deployed.feed.publish({"kind": "tick", "ticker": ticker, "seq": seq, "price": "1.00"})
        assert await next_event(events) == ("next", {"data": {"ticks": {"ticker": "AAA", "seq": 1, "stock": {"name": "Alpha Mining"}}}})
        assert (await next_event(events))[1]["data"]["ticks"]["seq"] == 2
    # The client hung up: the router closes the upstream subscription at the subgraph.
    await eventually(lambda: deployed.feed.active == 0 and deployed.hub.upstreams == 0)
    await eventually(lambda: not subscription_tasks())


async def test_sse_get_streams_until_the_subgraph_completes(deployed, http):
    params = urllib.parse.urlencode({"query": "subscription { countdown(start: 2) }"})
    headers = {**SSE, "apollo-require-preflight": "true"}
    async with http.get(deployed.router_url + "/graphql?" + params, headers=headers) as response:
        events = [item async for item in sse_events(response) if item[0] != "comment"]
    assert events == [("next", {"data": {"countdown": 2}}), ("next", {"data": {"countdown": 1}}), ("complete", None)]


async def test_sse_subscription_errors_keep_their_codes(deployed, http, signing_key):
    async with http.post(deployed.router_url + "/graphql", json={"query": "subscription { alerts { text } }"}, headers=SSE) as response:
        events = [item async for item in sse_events(response) if item[0] != "comment"]
    assert events[0][0] == "next" and events[0][1]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert events[-1] == ("complete", None)


@pytest.mark.parametrize("accept", [SSE, MULTIPART])
async def test_request_errors_and_bad_tokens_answer_json_before_any_stream(deployed, http, accept, signing_key):
    url = deployed.router_url + "/graphql"
    async with http.post(url, json={"query": "subscription { nope }"}, headers=accept) as response:
        assert response.status == 400
        assert (await response.json())["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    async with http.post(url, json={"query": "subscription { countdown(start: 1) }"}, headers={**accept, "authorization": "Bearer forged"}) as response:
        assert response.status == 401
        assert (await response.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    expired = token(signing_key, ttl=-60)
    async with http.post(url, json={"query": "subscription { countdown(start: 1) }"}, headers={**accept, "authorization": f"Bearer {expired}"}) as response:
        assert response.status == 401
    assert deployed.feed.opened == 0


async def test_multipart_payloads_heartbeats_and_per_caller_alerts(deployed, http, signing_key):
    headers = {**MULTIPART, "authorization": f"Bearer {token(signing_key, sub='ana')}"}
    body = {"query": "subscription { alerts { text stock { name } } }"}
    async with http.post(deployed.router_url + "/graphql", json=body, headers=headers) as response:
        assert response.status == 200
        assert response.headers["content-type"] == 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
        parts = multipart_parts(response)
        assert await anext(parts) == {}  # heartbeats every multipart_heartbeat (0.05 s here)
        await eventually(lambda: deployed.feed.active == 1)
        deployed.feed.publish({"kind": "alert", "user": "bia", "text": "not for ana", "ticker": "AAA"})
        deployed.feed.publish({"kind": "alert", "user": "ana", "text": "filled", "ticker": "AAA"})
        async with asyncio.timeout(5):
            payload = await anext(part async for part in parts if part)
        assert payload == {"payload": {"data": {"alerts": {"text": "filled", "stock": {"name": "Alpha Mining"}}}}}
    await eventually(lambda: deployed.feed.active == 0 and deployed.hub.upstreams == 0)


async def test_multipart_ends_with_the_closing_boundary_or_a_transport_error(deployed, http):
    async with http.post(deployed.router_url + "/graphql", json={"query": "subscription { countdown(start: 2) }"}, headers=MULTIPART) as response:
        parts = [part async for part in multipart_parts(response) if part]
    assert parts == [{"payload": {"data": {"countdown": 2}}}, {"payload": {"data": {"countdown": 1}}}]

    async with http.post(deployed.router_url + "/graphql", json={"query": TICKS, "variables": {"t": ["AAA"]}}, headers=MULTIPART) as response:
        parts = multipart_parts(response)
        await eventually(lambda: deployed.feed.active == 1)
        await deployed.stop_market()
        async with asyncio.timeout(5):
            failure = await anext(part async for part in parts if part)
            rest = [part async for part in parts if part]
    assert failure["payload"] is None and failure["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert rest == []


async def test_a_query_over_sse_is_one_next_then_complete(deployed, http):
    async with http.post(deployed.router_url + "/graphql", json={"query": '{ stock(ticker: "BBB") { name } }'}, headers=SSE) as response:
        events = [item async for item in sse_events(response) if item[0] != "comment"]
    assert events == [("next", {"data": {"stock": {"name": "Beta Bank"}}}), ("complete", None)]
