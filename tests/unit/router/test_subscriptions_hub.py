"""The subscription engine without sockets: planning a subscription, sharing upstreams
in the hub, endings and slow listeners, and events completed through `_entities`."""
from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest

from router.errors import RequestError
from router.pipeline import GraphQLRequest
from router.subgraph_client import SubgraphUnavailable
from router.subscriptions.engine import SubscriptionEngine, SubscriptionError, split_subscription_plan
from router.subscriptions.hub import SubscriptionHub
from router.subscriptions.upstream import UpstreamError

from .router_fixture_subgraphs import SCHEMAS, url_of

HEADERS = {"x-mybroker-internal-token": "s", "x-mybroker-user": "1"}


class ScriptedSubscriber:
    """Upstreams the test feeds by hand: each `subscribe` gets a queue; an exception put
    in it is raised, None completes."""

    def __init__(self) -> None:
        self.queues: list[asyncio.Queue] = []
        self.open = 0

    async def subscribe(self, url, body, headers):
        queue: asyncio.Queue = asyncio.Queue()
        self.queues.append(queue)
        self.open += 1
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.open -= 1


class InProcessSubscriber:
    """Runs the subscription on the fixture subgraph's Strawberry schema."""

    def __init__(self, store) -> None:
        self.store = store
        self.bodies: list[dict] = []

    async def subscribe(self, url, body, headers):
        self.bodies.append(body)
        schema = {url_of(name): schema for name, schema in SCHEMAS.items()}[url]
        stream = await schema.subscribe(body["query"], variable_values=body["variables"], context_value={"store": self.store})
        async for result in stream:
            yield orjson.loads(orjson.dumps({"data": result.data}))


async def until(condition, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_identical_subscriptions_share_one_upstream_and_the_last_one_out_closes_it():
    subscriber = ScriptedSubscriber()
    hub = SubscriptionHub(subscriber)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(hub.join("s", "u", {"query": "q"}, HEADERS))
        second = await stack.enter_async_context(hub.join("s", "u", {"query": "q"}, dict(HEADERS)))
        other_user = await stack.enter_async_context(hub.join("s", "u", {"query": "q"}, {**HEADERS, "x-mybroker-user": "2"}))
        await until(lambda: subscriber.open == 2)
        assert hub.upstreams == 2
        subscriber.queues[0].put_nowait({"data": 1})
        (kind, event), (_, same) = await first.get(), await second.get()
        assert kind == "next" and event.payload == {"data": 1} and same is event
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(other_user.get(), 0.05)
    await until(lambda: subscriber.open == 0)
    assert hub.upstreams == 0


@pytest.mark.parametrize(
    "ending, expected",
    [
        (None, ("complete", None)),
        (UpstreamError([{"message": "no", "extensions": {"code": "UNAUTHENTICATED", "stacktrace": ["x"]}}]),
         ("error", [{"message": "no", "extensions": {"code": "UNAUTHENTICATED", "service": "s"}}])),
    ],
)
async def test_an_upstream_ending_reaches_every_listener_and_the_next_join_opens_a_fresh_one(ending, expected):
    subscriber = ScriptedSubscriber()
    hub = SubscriptionHub(subscriber)
    async with hub.join("s", "u", {}, HEADERS) as first, hub.join("s", "u", {}, HEADERS) as second:
        await until(lambda: subscriber.open == 1)
        subscriber.queues[0].put_nowait(ending)
        assert await first.get() == expected == await second.get()
        assert hub.upstreams == 0
        async with hub.join("s", "u", {}, HEADERS):
            await until(lambda: len(subscriber.queues) == 2)
    await until(lambda: subscriber.open == 0)


async def test_a_dropped_upstream_is_an_internal_error_naming_the_subgraph():
    subscriber = ScriptedSubscriber()
    hub = SubscriptionHub(subscriber)
    async with hub.join("orders", "u", {}, HEADERS) as listener:
        await until(lambda: subscriber.open == 1)
        subscriber.queues[0].put_nowait(SubgraphUnavailable("the WebSocket closed (code 1012)"))
        kind, errors = await listener.get()
    assert kind == "error"
    assert errors[0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and errors[0]["extensions"]["service"] == "orders"
    assert "1012" not in errors[0]["message"]  # the detail is logged, not sent


async def test_a_slow_listener_loses_its_oldest_events_not_the_ending():
    subscriber = ScriptedSubscriber()
    hub = SubscriptionHub(subscriber, capacity=2)
    async with hub.join("s", "u", {}, HEADERS) as listener:
        await until(lambda: subscriber.open == 1)
        for n in range(5):
            subscriber.queues[0].put_nowait({"n": n})
        subscriber.queues[0].put_nowait(None)
        await until(lambda: hub.upstreams == 0)
        received = [await listener.get() for _ in range(3)]
    assert [(kind, getattr(event, "payload", event)) for kind, event in received] == [
        ("next", {"n": 3}), ("next", {"n": 4}), ("complete", None)
    ]
    assert listener.dropped == 3


async def test_hub_close_ends_upstreams_and_listeners():
    subscriber = ScriptedSubscriber()
    hub = SubscriptionHub(subscriber)
    async with hub.join("s", "u", {}, HEADERS) as listener:
        await until(lambda: subscriber.open == 1)
        await hub.close()
        assert await listener.get() == ("complete", None)
    assert subscriber.open == 0


def test_a_subscription_plan_is_a_root_fetch_then_entity_fetches(pipeline):
    prepared = pipeline.prepare("subscription { reviewAdded { body author { name } } }")
    root, rest = split_subscription_plan(prepared.plan)
    assert root.service == "reviews" and root.operation.startswith("subscription")
    assert [fetch.service for fetch in pipeline.planner.plan(prepared.operation).fetches()[1:]] == ["accounts"]
    assert rest is not None and "accounts" in str(rest)
    alone, nothing = split_subscription_plan(pipeline.prepare("subscription { reviewAdded { body } }").plan)
    assert alone.service == "reviews" and nothing is None


async def test_each_event_is_completed_through_the_query_plan(pipeline, store, client):
    subscriber = InProcessSubscriber(store)
    engine = SubscriptionEngine(pipeline, SubscriptionHub(subscriber))
    live = engine.prepare(GraphQLRequest("subscription Added { reviewAdded { body author { name } } }"))
    results = [result async for result in engine.results(live, HEADERS)]
    assert results[:2] == [
        {"data": {"reviewAdded": {"body": "A classic.", "author": {"name": "Ada Lovelace"}}}},
        {"data": {"reviewAdded": {"body": "Wobbly.", "author": {"name": "Alan Turing"}}}},
    ]
    assert len(results) == len(store.reviews)
    assert subscriber.bodies[0]["query"].startswith("subscription Added__reviews__0")
    assert client.services_called() == ["accounts"] * len(store.reviews)  # one _entities fetch per event


async def test_engine_refuses_bad_operations_before_any_upstream(pipeline):
    engine = SubscriptionEngine(pipeline, SubscriptionHub(ScriptedSubscriber()))
    with pytest.raises(RequestError) as refused:
        engine.prepare(GraphQLRequest("subscription { reviewAdded { nope } }"))
    assert refused.value.code.value == "GRAPHQL_VALIDATION_FAILED"
    with pytest.raises(RequestError) as refused:
        engine.prepare(GraphQLRequest("subscription($b: Boolean!) { reviewAdded { body @include(if: $b) } }", {"b": "x"}))
    assert refused.value.code.value == "BAD_USER_INPUT"


async def test_an_upstream_error_raises_subscription_error_with_codes(pipeline):
    subscriber = ScriptedSubscriber()
    engine = SubscriptionEngine(pipeline, SubscriptionHub(subscriber))
    live = engine.prepare(GraphQLRequest("subscription { reviewAdded { body } }"))
    results = engine.results(live, HEADERS)
    pending = asyncio.ensure_future(anext(results))
    await until(lambda: subscriber.open == 1)
    subscriber.queues[0].put_nowait(UpstreamError([{"message": "sign in", "extensions": {"code": "UNAUTHENTICATED"}}]))
    with pytest.raises(SubscriptionError) as failed:
        await pending
    assert failed.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_identical_client_subscriptions_share_each_events_entity_fetches(pipeline, client):
    subscriber = ScriptedSubscriber()
    engine = SubscriptionEngine(pipeline, SubscriptionHub(subscriber))
    query = "subscription { reviewAdded { body author { name } } }"
    first, second = (engine.results(engine.prepare(GraphQLRequest(query)), HEADERS) for _ in range(2))
    other = engine.results(engine.prepare(GraphQLRequest(query.replace("name", "name username"))), HEADERS)
    pending = [asyncio.ensure_future(anext(results)) for results in (first, second, other)]
    await until(lambda: subscriber.open == 1)  # one upstream for all three: same root fetch
    review = {"body": "A classic.", "author": {"__typename": "User", "id": "1"}}
    subscriber.queues[0].put_nowait({"data": {"reviewAdded": review}})
    one, two, three = await asyncio.gather(*pending)
    assert one == two == {"data": {"reviewAdded": {"body": "A classic.", "author": {"name": "Ada Lovelace"}}}}
    assert three["data"]["reviewAdded"]["author"] == {"name": "Ada Lovelace", "username": "ada"}
    assert client.services_called() == ["accounts", "accounts"]  # one fetch per distinct operation
    for results in (first, second, other):
        await results.aclose()
    await until(lambda: subscriber.open == 0)


async def test_a_subgraph_that_never_acknowledges_is_unavailable():
    from aiohttp import web

    from router.subscriptions.upstream import WebSocketSubscriber

    async def silent(request):
        ws = web.WebSocketResponse(protocols=("graphql-transport-ws",))
        await ws.prepare(request)
        async for _ in ws:  # reads connection_init, never answers
            pass
        return ws

    app = web.Application()
    app.router.add_get("/graphql", silent)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    subscriber = WebSocketSubscriber(ack_timeout=0.1)
    try:
        with pytest.raises(SubgraphUnavailable):
            async for _ in subscriber.subscribe(f"http://127.0.0.1:{port}/graphql", {"query": "subscription { x }"}, {}):
                pass
        with pytest.raises(SubgraphUnavailable):  # and nobody listening at all
            async for _ in subscriber.subscribe("http://127.0.0.1:9/graphql", {"query": "subscription { x }"}, {}):
                pass
    finally:
        await subscriber.close()
        await runner.cleanup()
