"""The router's HTTP edge (Starlette): /graphql for POST and GET, GraphiQL for browsers,
/health, /metrics, the trading screen at / (web/), and what guards the door before an
operation runs: body size, CORS, CSRF prevention, JWT verification, rate limits,
automatic persisted queries. docs/router.md lists every setting.

The platform's authenticator (router.auth) says who is calling: credentials it refuses
are a 401; a request without any is anonymous. Every subgraph request carries the
internal token and, for a signed-in caller, the user id (router.identity_headers)."""
from __future__ import annotations

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

import orjson
from opentelemetry import propagate, trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from router.auth import ANONYMOUS, AuthenticationError, Authenticator, Caller
from router.cors import CorsPolicy, cors_middleware
from router.csrf import CsrfPolicy, csrf_refusal
from router.errors import RequestError, RouterErrorCode
from router.identity_headers import client_address, internal_headers
from router.executor import OPERATION_TIMEOUT_SECONDS, Executor
from router.limits import OperationLimits
from router.media import negotiated, response_media_type
from router.metrics import RouterMetrics
from router.persisted_queries import PersistedQueries
from router.pipeline import ExecutionOutcome, GraphQLRequest, RouterPipeline
from router.rate_limit import BucketStore, MemoryBucketStore, RateLimited, RateLimiter, RateLimits
from router.subgraph_client import SUBGRAPH_TIMEOUT_SECONDS, HttpSubgraphClient, ObservedSubgraphClient, SubgraphClient
from router.subscriptions import SubscriptionServer, SubscriptionSettings, pooled_session, streaming_transport
from router.supergraph import Supergraph

log = logging.getLogger("router.http")

QUERY_PLAN_HEADER = "apollo-query-plan-experimental"


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
    # processes (the platform chooses: mybroker.router_app.bucket_store). The app closes it when it stops.
    rate_limit_store: BucketStore | None = None
    # The buckets' clock; None: the store's own (tests step a fake one).
    rate_limit_clock: Callable[[], float] | None = None

    def urls_for(self, supergraph: Supergraph) -> dict[str, str]:
        urls = {name: subgraph.url for name, subgraph in supergraph.subgraphs.items()}
        urls.update(self.subgraph_urls)
        return urls


def create_router_app(supergraph: Supergraph, config: RouterConfig | None = None) -> Starlette:
    config = config or RouterConfig()
    client = config.client or HttpSubgraphClient(timeout=config.subgraph_timeout)
    urls = config.urls_for(supergraph)
    metrics = RouterMetrics() if config.metrics else None
    tracer = (config.tracer_provider or trace.get_tracer_provider()).get_tracer("mybroker.router")
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
    persisted = PersistedQueries(config.persisted_queries)
    bucket_store = config.rate_limit_store or MemoryBucketStore()
    limiter = RateLimiter(config.rate_limits, bucket_store, clock=config.rate_limit_clock) if config.rate_limits.enabled else None

    async def admit(caller: Caller, address: str | None) -> RateLimited | None:
        """The caller's buckets for one operation (HTTP, SSE, multipart, WebSocket)."""
        if limiter is None:
            return None
        refusal = await limiter.admit(caller, address)
        if refusal is not None and metrics is not None:
            metrics.observe_rate_limited(refusal.scope)
        return refusal

    live = SubscriptionServer(
        pipeline, internal_secret=config.internal_secret, authenticator=config.authenticator,
        settings=config.subscriptions, session=pooled_session(client),
        rate_limit=admit, trusted_proxies=config.trusted_proxies,
    )
    max_body = config.limits.max_body_bytes
    graphiql_page = resources.files("router").joinpath("static/graphiql.html").read_text(encoding="utf-8")

    async def graphql_post(request: Request) -> Response:
        body = await _read_body(request, max_body)
        if body is None:
            return _refuse(request, 413, RouterErrorCode.OPERATION_TOO_COMPLEX, f"The request body is larger than the limit of {max_body} bytes.")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _refuse(request, 400, RouterErrorCode.GRAPHQL_PARSE_FAILED, "The request body is not valid JSON.")
        if not isinstance(payload, dict):
            return _refuse(request, 400, RouterErrorCode.GRAPHQL_PARSE_FAILED, "The request body must be a JSON object {query, variables, operationName}.")
        return await _run(
            request, payload.get("query"), payload.get("variables"), payload.get("operationName"), True, payload.get("extensions")
        )

    async def graphql_get(request: Request) -> Response:
        params = request.query_params
        if "query" not in params and config.graphiql and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(graphiql_page)
        variables: Any = None
        if params.get("variables"):
            try:
                variables = orjson.loads(params["variables"])
            except orjson.JSONDecodeError:
                return _refuse(request, 400, RouterErrorCode.BAD_USER_INPUT, "The variables parameter is not valid JSON.")
        extensions: Any = None
        if params.get("extensions"):
            try:
                extensions = orjson.loads(params["extensions"])
            except orjson.JSONDecodeError:
                return _refuse(request, 400, RouterErrorCode.BAD_USER_INPUT, "The extensions parameter is not valid JSON.")
        return await _run(request, params.get("query"), variables, params.get("operationName"), False, extensions)

    async def _run(request: Request, query, variables, operation_name, allow_mutations: bool, extensions=None) -> Response:
        refusal = csrf_refusal(request.headers, config.csrf)
        if refusal is not None:
            return _refuse(request, 400, RouterErrorCode.BAD_USER_INPUT, refusal)
        # Computed once: the rate limits and the subgraphs (identity's login throttle) see the same address.
        address = client_address(
            request.client.host if request.client else None, request.headers.get("x-forwarded-for"), config.trusted_proxies
        )
        try:
            caller = await _caller(request, config.authenticator)
        except AuthenticationError as error:
            # Charged as an anonymous request: guessing tokens is rate-limited too.
            return await _rate_limited(request, ANONYMOUS, address) or _refuse(request, 401, error.code, error.message)
        limited = await _rate_limited(request, caller, address)
        if limited is not None:
            return limited
        try:
            query = persisted.resolve(query, extensions)
        except RequestError as error:
            return _observed(request, ExecutionOutcome({"errors": error.to_errors()}, error.status))
        if variables is not None and not isinstance(variables, dict):
            return _refuse(request, 400, RouterErrorCode.BAD_USER_INPUT, "Variables must be a JSON object.")
        if operation_name is not None and not isinstance(operation_name, str):
            return _refuse(request, 400, RouterErrorCode.BAD_USER_INPUT, "operationName must be a string.")
        transport = streaming_transport(request.headers.get("accept", ""))
        if transport is not None:  # SSE or multipart: subscriptions (and single results) as a stream
            try:
                operation = live.engine.prepare(
                    GraphQLRequest(query, variables, operation_name), allow_mutations=allow_mutations,
                    headers=live.headers_for(caller),
                )
            except RequestError as error:
                return _observed(request, ExecutionOutcome({"errors": error.to_errors()}, error.status))
            return live.stream(transport, operation, caller)
        include_plan = config.expose_query_plan and request.headers.get(QUERY_PLAN_HEADER, "") not in ("", "0", "false")
        started = time.perf_counter()
        try:
            with tracer.start_as_current_span(
                "graphql request", context=propagate.extract(request.headers), kind=trace.SpanKind.SERVER
            ) as span:
                outcome = await pipeline.execute(
                    GraphQLRequest(query, variables, operation_name),
                    internal_headers(config.internal_secret, caller.user_id, address, session_id=caller.session_id),
                    allow_mutations=allow_mutations,
                    include_plan=include_plan,
                    charge=None if limiter is None else _cost_charger(caller, address),
                )
                if span.is_recording():
                    span.set_attribute("graphql.operation.type", outcome.kind or "unknown")
                    span.set_attribute("graphql.operation.name", operation_name or "")
                    media_type = response_media_type(request.headers.get("accept"))  # 503 is decided by the media type
                    span.set_attribute("http.response.status_code", negotiated(media_type, outcome.status, outcome.body)[0])
        except Exception:  # a router bug: logged with an id, never a trace to the client
            request_id = uuid.uuid4().hex[:12]
            log.exception("request failed (request id %s)", request_id)
            error = {
                "message": f"Internal server error (request id {request_id}).",
                "extensions": {"code": RouterErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
            }
            return _observed(request, ExecutionOutcome({"errors": [error]}, 500), started)
        return _observed(request, outcome, started)

    def _observed(request: Request, outcome: ExecutionOutcome, started: float | None = None) -> Response:
        """The answer to a /graphql request, as the media type its Accept header prefers
        (router/media.py: graphql-response+json brings its statuses, 503 among them)."""
        if metrics is not None:
            metrics.observe_request(outcome.kind, outcome.body, None if started is None else time.perf_counter() - started)
        headers = {"allow": "POST"} if outcome.status == 405 else outcome.headers
        media_type = response_media_type(request.headers.get("accept"))
        status, headers = negotiated(media_type, outcome.status, outcome.body, headers)
        return _json(outcome.body, status, headers)

    def _cost_charger(caller: Caller, address: str | None):
        """Bills an operation's estimated cost to the caller's cost bucket: 1 was drawn at
        the door with the operation itself, the rest once demand control knows the cost."""

        async def charge(cost: int) -> RequestError | None:
            if cost <= 1:
                return None
            refusal = await limiter.consume(caller, address, cost - 1)
            if refusal is None:
                return None
            if metrics is not None:
                metrics.observe_rate_limited(refusal.scope)
            error = refusal.error()
            return RequestError(RouterErrorCode.RATE_LIMITED, error["message"], status=429, errors=[error], headers=refusal.headers())

        return charge

    async def _rate_limited(request: Request, caller: Caller, address: str | None) -> Response | None:
        """HTTP 429 with Retry-After when one of the caller's buckets is empty."""
        refusal = await admit(caller, address)
        if refusal is None:
            return None
        return _observed(request, ExecutionOutcome({"errors": [refusal.error()]}, 429, headers=refusal.headers()))

    def _refuse(request: Request, status: int, code: RouterErrorCode, message: str) -> Response:
        """A request refused at the edge, before the pipeline: counted like the others."""
        return _observed(request, ExecutionOutcome({"errors": [{"message": message, "extensions": {"code": code.value}}]}, status))

    async def health(_: Request) -> Response:
        return _json({"status": "ok"})

    async def metrics_endpoint(_: Request) -> Response:
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

    routes = [
        Route("/graphql", graphql_post, methods=["POST"]),
        Route("/graphql", graphql_get, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        WebSocketRoute("/graphql", live.websocket),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    if config.web_dir is not None:
        routes.extend(_web_screen_routes(config.web_dir))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=cors_middleware(config.cors))
    app.state.pipeline = pipeline
    app.state.supergraph = supergraph
    app.state.metrics = metrics
    app.state.subscriptions = live
    app.state.rate_limiter = limiter
    return app


def _web_screen_routes(web_dir: Path) -> list[BaseRoute]:
    """The trading screen: index.html at / and Vite's hashed bundles under /assets. Both
    look at the disk per request, so a build made while the router runs is served on reload;
    without one, / says how to build it."""

    async def index(_: Request) -> Response:
        page = web_dir / "index.html"
        if not page.is_file():
            return HTMLResponse(_SCREEN_NOT_BUILT)
        return FileResponse(page, headers={"cache-control": "no-cache"})

    static = StaticFiles(directory=web_dir / "assets", check_dir=False)

    async def bundles(scope, receive, send) -> None:
        if not (web_dir / "assets").is_dir():  # not built: a 404, not StaticFiles' 500
            return await Response(status_code=404)(scope, receive, send)
        await static(scope, receive, send)

    return [Route("/", index, methods=["GET", "HEAD"]), Mount("/assets", app=bundles, name="web-assets")]


_SCREEN_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>My Broker B3</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 10vh auto; padding: 0 1rem; line-height: 1.5">
<h1>My Broker B3</h1>
<p>The trading screen is not built: building it needs Node.js (20.19 or newer) with npm.
Install Node, then run <code>make up</code> again (it builds <code>web/</code> when npm is there),
or build it yourself with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and reload this page.</p>
<p>The platform runs without it: the GraphQL API and GraphiQL are at <a href="/graphql">/graphql</a>.</p>
</body></html>"""


async def _read_body(request: Request, limit: int | None) -> bytes | None:
    """The body, or None once it proves larger than `limit`: a declared Content-Length is
    refused unread, a chunked body as soon as it crosses the line."""
    if limit is None:
        return await request.body()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _caller(request: Request, authenticator: Authenticator | None) -> Caller:
    if authenticator is None:
        return ANONYMOUS
    return await authenticator.authenticate(request.headers)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)
