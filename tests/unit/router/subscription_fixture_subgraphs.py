"""Two small subgraphs served over real HTTP/WebSocket for the subscription tests, and a
router in front of them.

market: `Subscription.ticks(tickers)` (a tick references a `Stock` it does not resolve),
`alerts` (the caller's own, UNAUTHENTICATED when anonymous), `countdown(from)` (ends by
itself), `broken` (one value, then an internal error). catalog: `Stock @key(ticker)`
with its name. The test drives the market through `Feed` and reads how many upstream
subscriptions the market is serving (`Feed.active`)."""
from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from decimal import Decimal
from typing import AsyncGenerator

import strawberry
import uvicorn
from fastapi import FastAPI
from strawberry.federation.schema_directives import Key

from mybroker.errors import unauthenticated
from mybroker.graphql import federation_schema, graphql_router
from router.compose import SubgraphDef, compose
from router.http import RouterConfig, create_router_app
from router.limits import OperationLimits
from router.subscriptions import SubscriptionSettings
from router.supergraph import Supergraph

from .router_fixture_subgraphs import SECRET
from .test_router_http import authenticator_for, serve


class Feed:
    """The market's event source: each running subscription has a queue here."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue] = set()
        self.opened = 0  # subscriptions the market has started, ever

    @property
    def active(self) -> int:
        return len(self.queues)

    def publish(self, event: dict) -> None:
        for queue in tuple(self.queues):
            queue.put_nowait(event)

    async def events(self) -> AsyncGenerator[dict, None]:
        queue: asyncio.Queue = asyncio.Queue()
        self.queues.add(queue)
        self.opened += 1
        try:
            while True:
                yield await queue.get()
        finally:
            self.queues.discard(queue)


@strawberry.federation.type(keys=[Key(fields="ticker", resolvable=False)], name="Stock")
class MarketStock:
    ticker: strawberry.ID


@strawberry.type
class Tick:
    ticker: strawberry.ID
    seq: int
    price: Decimal

    @strawberry.field
    def stock(self) -> MarketStock:
        return MarketStock(ticker=self.ticker)


@strawberry.type
class Alert:
    text: str
    ticker: strawberry.ID

    @strawberry.field
    def stock(self) -> MarketStock:
        return MarketStock(ticker=self.ticker)


@strawberry.type
class MarketQuery:
    @strawberry.field
    def market_open(self) -> bool:
        return True


def _feed(info: strawberry.Info) -> Feed:
    return info.context.service


@strawberry.type
class MarketSubscription:
    @strawberry.subscription
    async def ticks(self, info: strawberry.Info, tickers: list[strawberry.ID]) -> AsyncGenerator[Tick, None]:
        async with contextlib.aclosing(_feed(info).events()) as events:
            async for event in events:
                if event.get("kind") == "tick" and event["ticker"] in tickers:
                    yield Tick(ticker=event["ticker"], seq=event["seq"], price=Decimal(event["price"]))

    @strawberry.subscription
    async def alerts(self, info: strawberry.Info) -> AsyncGenerator[Alert, None]:
        user = info.context.caller.user_id
        if user is None:
            raise unauthenticated()
        async with contextlib.aclosing(_feed(info).events()) as events:
            async for event in events:
                if event.get("kind") == "alert" and event["user"] == user:
                    yield Alert(text=event["text"], ticker=event["ticker"])

    @strawberry.subscription
    async def countdown(self, info: strawberry.Info, start: int) -> AsyncGenerator[int, None]:
        for n in range(start, 0, -1):
            yield n

    @strawberry.subscription
    async def broken(self, info: strawberry.Info) -> AsyncGenerator[int, None]:
        yield 1
        raise RuntimeError("the market's database password is hunter2")


market_schema = federation_schema(query=MarketQuery, subscription=MarketSubscription, types=[MarketStock])

NAMES = {"AAA": "Alpha Mining", "BBB": "Beta Bank"}


@strawberry.federation.type(keys=["ticker"], name="Stock")
class CatalogStock:
    ticker: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, ticker: strawberry.ID) -> "CatalogStock":
        return CatalogStock(ticker=ticker, name=NAMES.get(str(ticker), "Unknown"))


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def stock(self, ticker: strawberry.ID) -> CatalogStock:
        return CatalogStock.resolve_reference(ticker)


catalog_schema = federation_schema(query=CatalogQuery, types=[CatalogStock])


def subgraph_app(schema, service) -> FastAPI:
    app = FastAPI()
    app.include_router(graphql_router(schema, service, SECRET))
    return app


@contextlib.asynccontextmanager
async def serve_stoppable(app):
    """Like `serve`, and yields the uvicorn server too, to take the subgraph down mid-test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Deployment:
    router_url: str
    market_url: str
    feed: Feed
    app: object  # the router's Starlette app (state.subscriptions: the server)
    market_server: uvicorn.Server

    async def stop_market(self) -> None:
        """The market subgraph goes away: its open WebSockets are closed under the router."""
        self.market_server.should_exit = True
        while self.market_server.started and not self.market_server.should_exit:
            await asyncio.sleep(0.01)

    @property
    def ws_url(self) -> str:
        return self.router_url.replace("http://", "ws://") + "/graphql"

    @property
    def hub(self):
        return self.app.state.subscriptions.hub

    @property
    def engine(self):
        return self.app.state.subscriptions.engine


FAST = SubscriptionSettings(init_timeout=1.0, ws_keepalive=0.2, sse_keepalive=0.05, multipart_heartbeat=0.05, max_operations_per_connection=3)


@contextlib.asynccontextmanager
async def deployment(signing_key, settings: SubscriptionSettings = FAST, limits: OperationLimits = OperationLimits(max_depth=4)):
    """market and catalog on free ports, and a router composed from them."""
    feed = Feed()
    async with serve_stoppable(subgraph_app(market_schema, feed)) as (market, market_server), serve(subgraph_app(catalog_schema, None)) as catalog:
        market_url, catalog_url = market + "/graphql", catalog + "/graphql"
        supergraph = Supergraph.from_sdl(
            compose([SubgraphDef("market", market_url, market_schema.as_str()), SubgraphDef("catalog", catalog_url, catalog_schema.as_str())])
        )
        config = RouterConfig(
            internal_secret=SECRET,
            authenticator=authenticator_for(signing_key),
            limits=limits,
            subscriptions=settings,
        )
        app = create_router_app(supergraph, config)
        async with serve(app) as router:
            yield Deployment(router, market_url, feed, app, market_server)


async def eventually(condition, timeout: float = 5.0) -> None:
    """Polls until `condition()` holds; fails the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def subscription_tasks() -> list[asyncio.Task]:
    """The router's subscription tasks still alive (upstream pumps, WebSocket operations)."""
    return [task for task in asyncio.all_tasks() if task.get_name().startswith(("upstream:", "ws-operation:"))]
