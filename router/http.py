"""The router's HTTP app (Starlette): /graphql for POST and GET (router/edge.py: the
ordered stages that guard the door, router/stages.py), the WebSocket transport, GraphiQL
for browsers (web/playground's build, no CDN), /health, /metrics, the trading screen at / (web/),
the signed download links at /downloads/<token> (router/downloads.py). RouterConfig is every
setting (docs/router.md lists them); create_router_app assembles the parts.

The platform's authenticator (router.auth) says who is calling: credentials it refuses
are a 401; a request without any is anonymous. Every subgraph request carries the
internal token and, for a signed-in caller, the user id (router.identity_headers)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from opentelemetry import trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from router.auth import Authenticator, Caller
from router.cors import CorsPolicy, cors_middleware
from router.csrf import CsrfPolicy
from router.downloads import Downloads
from router.edge import Answer, Edge, RequestTracing, json_response
from router.executor import OPERATION_TIMEOUT_SECONDS, Executor
from router.limits import OperationLimits
from router.metrics import RouterMetrics
from router.persisted_queries import PersistedQueries
from router.tracing import QuietTracer
from router.pipeline import RouterPipeline
from router.rate_limit import BucketStore, MemoryBucketStore, RateLimited, RateLimiter, RateLimits
from router.stages import edge_stages
from router.subgraph_client import SUBGRAPH_TIMEOUT_SECONDS, HttpSubgraphClient, ObservedSubgraphClient, SubgraphClient
from router.subscriptions import SubscriptionServer, SubscriptionSettings, pooled_session
from router.supergraph import Supergraph


@dataclass
class RouterConfig:
    # Shared secret proving to subgraphs that a request comes from the router.
    internal_secret: str = ""
    # Proxies whose X-Forwarded-For is believed for the client address forwarded to
    # subgraphs (identity's login throttle keys on it); anyone else's is ignored.
    trusted_proxies: frozenset[str] = frozenset()
    # Who is calling (router.auth): the platform's token verification; None accepts every
    # request as anonymous (tests, tools).
    authenticator: Authenticator | None = None
    # Subgraph name -> URL, overriding the supergraph's join__Graph urls.
    subgraph_urls: Mapping[str, str] = field(default_factory=dict)
    # How subgraphs are reached; None: one pooled aiohttp session.
    client: SubgraphClient | None = None
    # Seconds one subgraph request may take, connecting included (the pooled session's;
    # a `client` passed in brings its own); None: no limit.
    subgraph_timeout: float | None = SUBGRAPH_TIMEOUT_SECONDS
    # Seconds all of one operation's fetches may take; past it the router answers with
    # what arrived and SUBGRAPH_UNAVAILABLE for the rest. None: no deadline.
    operation_timeout: float | None = OPERATION_TIMEOUT_SECONDS
    limits: OperationLimits = field(default_factory=OperationLimits)
    cache_size: int = 1000
    # Answer `Apollo-Query-Plan-Experimental: 1` with the plan in `extensions.queryPlan`.
    expose_query_plan: bool = True
    graphiql: bool = True
    # GraphiQL's build (web/dist/playground; `make up` builds it), served to browsers at
    # GET /graphql and its files under /playground/assets while `graphiql` is on. None, or
    # a directory without a build: GET /graphql says how to build it.
    playground_dir: Path | None = None
    # Off: `__schema` and `__type` answer INTROSPECTION_DISABLED (`__typename` still works).
    introspection: bool = True
    csrf: CsrfPolicy = field(default_factory=CsrfPolicy)
    cors: CorsPolicy = field(default_factory=CorsPolicy)
    # Automatic persisted queries: how many query texts are remembered; 0 turns APQ off.
    persisted_queries: int = 1000
    # Prometheus metrics at GET /metrics.
    metrics: bool = True
    # Where spans go; None: the process-wide provider (a no-op unless router.tracing set one).
    tracer_provider: Any = None
    # WebSocket, SSE and multipart subscriptions: keepalives, buffers, per-connection limit.
    subscriptions: SubscriptionSettings = field(default_factory=SubscriptionSettings)
    # The trading screen's build (web/dist), served at /; None: no screen.
    web_dir: Path | None = None
    # Token buckets per client address and per user (router/rate_limit.py): HTTP 429 RATE_LIMITED.
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # Where the buckets live; None: this process's memory. Redis shares them among router
    # processes (the platform chooses: launch.router_app.bucket_store). The app closes it when it stops.
    rate_limit_store: BucketStore | None = None
    # The buckets' clock; None: the store's own (tests step a fake one).
    rate_limit_clock: Callable[[], float] | None = None
    # Whether a sign-in session has signed out (a download link's `sid`: router/downloads.py);
    # None: links last their few minutes whatever happens to their session.
    session_revoked: Callable[[str], Awaitable[bool]] | None = None

    def urls_for(self, supergraph: Supergraph) -> dict[str, str]:
        urls = {name: subgraph.url for name, subgraph in supergraph.subgraphs.items()}
        urls.update(self.subgraph_urls)
        return urls


def create_router_app(supergraph: Supergraph, config: RouterConfig | None = None) -> Starlette:
    config = config or RouterConfig()
    client = config.client or HttpSubgraphClient(timeout=config.subgraph_timeout)
    urls = config.urls_for(supergraph)
    metrics = RouterMetrics() if config.metrics else None
    tracer = QuietTracer(
        (config.tracer_provider or trace.get_tracer_provider()).get_tracer("mybroker.router"), given=config.tracer_provider is not None
    )
    pipeline = RouterPipeline(
        supergraph,
        Executor(
            ObservedSubgraphClient(client, urls, metrics=metrics, tracer=tracer), urls, operation_timeout=config.operation_timeout
        ),
        limits=config.limits,
        cache_size=config.cache_size,
        introspection=config.introspection,
        tracer=tracer,
        metrics=metrics,
    )
    bucket_store = config.rate_limit_store or MemoryBucketStore()
    limiter = RateLimiter(config.rate_limits, bucket_store, clock=config.rate_limit_clock) if config.rate_limits.enabled else None
    admit = None if limiter is None else _admission(limiter, metrics)
    live = SubscriptionServer(
        pipeline, internal_secret=config.internal_secret, authenticator=config.authenticator,
        settings=config.subscriptions, session=pooled_session(client),
        rate_limit=admit, trusted_proxies=config.trusted_proxies,
    )
    stages = edge_stages(
        csrf=config.csrf, trusted_proxies=config.trusted_proxies, authenticator=config.authenticator,
        admit=admit, persisted=PersistedQueries(config.persisted_queries),
    )
    # Signed download links (router/downloads.py): documents fetched from their owning
    # subgraph through the same connection pool as the operations.
    downloads = Downloads(
        urls, internal_secret=config.internal_secret, authenticator=config.authenticator,
        session=pooled_session(client), admit=admit, trusted_proxies=config.trusted_proxies,
        session_revoked=config.session_revoked,
    )
    edge = Edge(
        pipeline, stages, live=live, answer=Answer(metrics), tracing=RequestTracing(tracer),
        internal_secret=config.internal_secret, limiter=limiter, metrics=metrics,
        max_body_bytes=config.limits.max_body_bytes, expose_query_plan=config.expose_query_plan,
        graphiql_page=_playground_page(config.playground_dir) if config.graphiql else None,
    )

    async def health(_: Request) -> Response:
        return json_response({"status": "ok"})

    async def metrics_endpoint(_: Request) -> Response:
        assert metrics is not None, "routed only when metrics are on"
        return Response(metrics.exposition(), media_type=metrics.content_type)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette):
        yield
        await live.close()  # ends every upstream subscription before the pool closes
        # The pooled session is ours to close; a client passed in config belongs to the caller.
        close = getattr(client, "close", None)
        if close is not None and config.client is None:
            await close()
        await bucket_store.close()
        await downloads.close()

    routes = [
        Route("/graphql", edge.post, methods=["POST"]),
        Route("/graphql", edge.get, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/downloads/{token}", downloads.get, methods=["GET"]),
        WebSocketRoute("/graphql", live.websocket),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    if config.web_dir is not None:
        routes.extend(_web_screen_routes(config.web_dir))
    if config.graphiql and config.playground_dir is not None:
        routes.append(Mount("/playground/assets", app=_bundles(config.playground_dir / "assets"), name="playground-assets"))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=cors_middleware(config.cors))
    app.state.pipeline = pipeline
    app.state.supergraph = supergraph
    app.state.metrics = metrics
    app.state.subscriptions = live
    app.state.rate_limiter = limiter
    app.state.edge = edge
    return app


def _admission(limiter: RateLimiter, metrics: RouterMetrics | None):
    async def admit(caller: Caller, address: str | None) -> RateLimited | None:
        """The caller's buckets for one operation (HTTP, SSE, multipart, WebSocket)."""
        refusal = await limiter.admit(caller, address)
        if refusal is not None and metrics is not None:
            metrics.observe_rate_limited(refusal.scope)
        return refusal

    return admit


def _web_screen_routes(web_dir: Path) -> list[BaseRoute]:
    """The trading screen: index.html at / and Vite's hashed bundles under /assets. Both
    look at the disk per request, so a build made while the router runs is served on reload;
    without one, / says how to build it."""

    async def index(_: Request) -> Response:
        page = web_dir / "index.html"
        if not page.is_file():
            return HTMLResponse(_SCREEN_NOT_BUILT)
        return FileResponse(page, headers={"cache-control": "no-cache"})

    async def icon(_: Request) -> Response:
        # One SVG icon (web/public/favicon.svg) for the page's <link rel="icon"> and for
        # the /favicon.ico browsers and tools ask for on their own.
        svg = web_dir / "favicon.svg"
        if not svg.is_file():
            return Response(status_code=404)
        return FileResponse(svg, media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/favicon.svg", icon, methods=["GET", "HEAD"]),
        Route("/favicon.ico", icon, methods=["GET", "HEAD"]),
        Mount("/assets", app=_bundles(web_dir / "assets"), name="web-assets"),
    ]


def _bundles(assets: Path):
    """Vite's hashed bundles in `assets`, looked up per request (a build may come later)."""
    static = StaticFiles(directory=assets, check_dir=False)

    async def bundles(scope, receive, send) -> None:
        if not assets.is_dir():  # not built: a 404, not StaticFiles' 500
            return await Response(status_code=404)(scope, receive, send)
        await static(scope, receive, send)

    return bundles


def _playground_page(playground_dir: Path | None) -> Callable[[], Response]:
    """GraphiQL's page, read per request like the screen's; without a build, what to run."""

    def page() -> Response:
        built = None if playground_dir is None else playground_dir / "index.html"
        if built is None or not built.is_file():
            return HTMLResponse(PLAYGROUND_NOT_BUILT)
        return FileResponse(built, headers={"cache-control": "no-cache"})

    return page


_SCREEN_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>My Broker B3</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 10vh auto; padding: 0 1rem; line-height: 1.5">
<h1>My Broker B3</h1>
<p>The trading screen is not built: building it needs Node.js (20.19 or newer) with npm.
Install Node, then run <code>make up</code> again (it builds <code>web/</code> when npm is there),
or build it yourself with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and reload this page.</p>
<p>The platform runs without it: the GraphQL API and GraphiQL are at <a href="/graphql">/graphql</a>.</p>
</body></html>"""

PLAYGROUND_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>My Broker B3 · GraphiQL</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 10vh auto; padding: 0 1rem; line-height: 1.5">
<h1>GraphiQL</h1>
<p>The playground is not built: run <code>make up</code> (needs Node.js 20.19 or newer with npm).
It builds <code>web/</code>, GraphiQL included, into <code>web/dist</code>; or build it yourself with
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and reload this page.</p>
<p>The GraphQL API works without it: POST your operations to this address, <code>/graphql</code>.</p>
</body></html>"""
