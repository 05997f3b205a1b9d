"""The router's HTTP edge (Starlette): /graphql for POST and GET, GraphiQL for browsers,
/health, and JWT verification before anything else happens.

A request with `Authorization: Bearer <token>` must carry a valid access token (401
otherwise); without one the caller is anonymous. Every subgraph request carries the
internal token and, for a signed-in caller, the user id (mybroker.auth.internal_headers)."""
from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mybroker.auth import ANONYMOUS, Caller, JwtVerifier, bearer_token, internal_headers
from mybroker.errors import DomainError, ErrorCode
from router.executor import Executor
from router.limits import OperationLimits
from router.pipeline import GraphQLRequest, RouterPipeline
from router.subgraph_client import HttpSubgraphClient, SubgraphClient
from router.supergraph import Supergraph

log = logging.getLogger("router.http")

QUERY_PLAN_HEADER = "apollo-query-plan-experimental"


@dataclass
class RouterConfig:
    # Shared secret proving to subgraphs that a request comes from the router.
    internal_secret: str = ""
    # Verifies access tokens; None accepts every request as anonymous (tests, tools).
    verifier: JwtVerifier | None = None
    # Subgraph name -> URL, overriding the supergraph's join__Graph urls.
    subgraph_urls: Mapping[str, str] = field(default_factory=dict)
    # How subgraphs are reached; None: one pooled aiohttp session.
    client: SubgraphClient | None = None
    limits: OperationLimits = field(default_factory=OperationLimits)
    cache_size: int = 1000
    # Answer `Apollo-Query-Plan-Experimental: 1` with the plan in `extensions.queryPlan`.
    expose_query_plan: bool = True
    graphiql: bool = True

    def urls_for(self, supergraph: Supergraph) -> dict[str, str]:
        urls = {name: subgraph.url for name, subgraph in supergraph.subgraphs.items()}
        urls.update(self.subgraph_urls)
        return urls


def create_router_app(supergraph: Supergraph, config: RouterConfig | None = None) -> Starlette:
    config = config or RouterConfig()
    client = config.client or HttpSubgraphClient()
    pipeline = RouterPipeline(
        supergraph, Executor(client, config.urls_for(supergraph)), limits=config.limits, cache_size=config.cache_size
    )
    graphiql_page = resources.files("router").joinpath("static/graphiql.html").read_text(encoding="utf-8")

    async def graphql_post(request: Request) -> Response:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _errors(400, ErrorCode.GRAPHQL_PARSE_FAILED, "The request body is not valid JSON.")
        if not isinstance(payload, dict):
            return _errors(400, ErrorCode.GRAPHQL_PARSE_FAILED, "The request body must be a JSON object {query, variables, operationName}.")
        return await _run(request, payload.get("query"), payload.get("variables"), payload.get("operationName"), True)

    async def graphql_get(request: Request) -> Response:
        params = request.query_params
        if "query" not in params and config.graphiql and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(graphiql_page)
        variables: Any = None
        if params.get("variables"):
            try:
                variables = orjson.loads(params["variables"])
            except orjson.JSONDecodeError:
                return _errors(400, ErrorCode.BAD_USER_INPUT, "The variables parameter is not valid JSON.")
        return await _run(request, params.get("query"), variables, params.get("operationName"), False)

    async def _run(request: Request, query, variables, operation_name, allow_mutations: bool) -> Response:
        try:
            caller = await _caller(request, config.verifier)
        except DomainError as error:
            return _errors(401, error.code, error.message)
        if variables is not None and not isinstance(variables, dict):
            return _errors(400, ErrorCode.BAD_USER_INPUT, "Variables must be a JSON object.")
        if operation_name is not None and not isinstance(operation_name, str):
            return _errors(400, ErrorCode.BAD_USER_INPUT, "operationName must be a string.")
        include_plan = config.expose_query_plan and request.headers.get(QUERY_PLAN_HEADER, "") not in ("", "0", "false")
        try:
            outcome = await pipeline.execute(
                GraphQLRequest(query, variables, operation_name),
                internal_headers(config.internal_secret, caller.user_id),
                allow_mutations=allow_mutations,
                include_plan=include_plan,
            )
        except Exception:  # a router bug: logged with an id, never a trace to the client
            request_id = uuid.uuid4().hex[:12]
            log.exception("request failed (request id %s)", request_id)
            error = {
                "message": f"Internal server error (request id {request_id}).",
                "extensions": {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
            }
            return _json({"errors": [error]}, 500)
        headers = {"allow": "POST"} if outcome.status == 405 else None
        return _json(outcome.body, outcome.status, headers)

    async def health(_: Request) -> Response:
        return _json({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette):
        yield
        # The pooled session is ours to close; a client passed in config belongs to the caller.
        close = getattr(client, "close", None)
        if close is not None and config.client is None:
            await close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql_post, methods=["POST"]),
            Route("/graphql", graphql_get, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.pipeline = pipeline
    app.state.supergraph = supergraph
    return app


async def _caller(request: Request, verifier: JwtVerifier | None) -> Caller:
    token = bearer_token(request.headers.get("authorization"))
    if token is None or verifier is None:
        return ANONYMOUS
    return await verifier.verify(token)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _errors(status: int, code: ErrorCode, message: str) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code.value}}]}, status)
