"""The router's HTTP edge for /graphql, as an ordered list of stages around the pipeline:

    CORS (ASGI middleware, router/cors.py: preflights never reach the edge)
    body size, JSON            post / get (a POST body not declared JSON is not read at all)
    CSRF, Content-Type, Accept, client address, authentication, rate limits, bad credentials,
    APQ, request shape         router/stages.py, in edge_stages' order; the first refusal answers
    SSE / multipart            a streamed operation (router/subscriptions)
    tracing                    RequestTracing: the "graphql request" span around execution
    execution                  RouterPipeline.execute, with the operation's cost billed
    answer                     Answer: media type and status (router/media.py), metrics

Every answer, refusals included, goes through `Answer`, so every one is negotiated and
counted the same way."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Callable, Mapping

import orjson
from opentelemetry import propagate, trace
from starlette.requests import Request
from starlette.responses import Response

from router.errors import RequestError, RouterErrorCode
from router.identity_headers import internal_headers
from router.media import is_json_body, negotiated, response_media_type
from router.pipeline import ExecutionOutcome, GraphQLRequest, RouterPipeline
from router.rate_limit import RateLimiter
from router.stages import EdgeRequest, Stage, refused
from router.subscriptions import SubscriptionServer, streaming_transport
from router.tracing import NO_SPAN, QuietTracer

log = logging.getLogger("router.http")

QUERY_PLAN_HEADER = "apollo-query-plan-experimental"


class Answer:
    """The response to a /graphql request: the media type its Accept header prefers
    (graphql-response+json brings its statuses, 503 among them), and the request counted."""

    __slots__ = ("metrics",)

    def __init__(self, metrics: Any):
        self.metrics = metrics  # router.metrics.RouterMetrics or None

    def __call__(self, headers: Mapping[str, str], outcome: ExecutionOutcome, started: float | None = None) -> Response:
        if self.metrics is not None:
            self.metrics.observe_request(outcome.kind, outcome.body, None if started is None else time.perf_counter() - started)
        extra = {"allow": "POST"} if outcome.status == 405 else outcome.headers
        status, out = negotiated(response_media_type(headers.get("accept")), outcome.status, outcome.body, extra)
        return json_response(outcome.body, status, out)


class RequestTracing:
    """The "graphql request" server span, continuing the client's trace (traceparent)."""

    __slots__ = ("tracer",)

    def __init__(self, tracer: trace.Tracer | QuietTracer):
        self.tracer = tracer

    def span(self, headers: Mapping[str, str]):
        if isinstance(self.tracer, QuietTracer) and not self.tracer.on():  # tracing off: no traceparent to read
            return NO_SPAN
        return self.tracer.start_as_current_span("graphql request", context=propagate.extract(headers), kind=trace.SpanKind.SERVER)

    @staticmethod
    def record(span, headers: Mapping[str, str], operation_name: Any, outcome: ExecutionOutcome) -> None:
        """The operation and the status the client gets (503 is decided by the media type)."""
        if not span.is_recording():
            return
        span.set_attribute("graphql.operation.type", outcome.kind or "unknown")
        span.set_attribute("graphql.operation.name", operation_name or "")
        media_type = response_media_type(headers.get("accept"))
        span.set_attribute("http.response.status_code", negotiated(media_type, outcome.status, outcome.body)[0])


class Edge:
    """POST and GET /graphql: decode, the stages, then the operation streamed or executed."""

    def __init__(
        self, pipeline: RouterPipeline, stages: tuple[Stage, ...], *, live: SubscriptionServer, answer: Answer,
        tracing: RequestTracing, internal_secret: str, limiter: RateLimiter | None, metrics: Any,
        max_body_bytes: int | None, graphiql_page: Callable[[], Response] | None, expose_query_plan: bool,
    ):
        self.pipeline = pipeline
        self.stages = stages
        self.live = live
        self.answer = answer
        self.tracing = tracing
        self.internal_secret = internal_secret
        self.limiter = limiter
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.graphiql_page = graphiql_page  # the playground's page, read per request; None: GraphiQL off
        self.expose_query_plan = expose_query_plan

    # ------------------------------------------------------------ decoding

    async def post(self, request: Request) -> Response:
        headers = request.headers
        if not is_json_body(headers.get("content-type")):
            # Nothing says the body is JSON: unread, and refused by ContentTypeStage (415)
            # once the CSRF stage has had its say.
            return await self.handle(EdgeRequest(
                headers, request.client.host if request.client else None, None, None, None, None, True, unsupported_body=True,
            ))
        body = await read_body(request, self.max_body_bytes)
        if body is None:
            return self.answer(headers, refused(
                413, RouterErrorCode.OPERATION_TOO_COMPLEX, f"The request body is larger than the limit of {self.max_body_bytes} bytes."
            ))
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self.answer(headers, refused(400, RouterErrorCode.GRAPHQL_PARSE_FAILED, "The request body is not valid JSON."))
        if not isinstance(payload, dict):
            return self.answer(headers, refused(
                400, RouterErrorCode.GRAPHQL_PARSE_FAILED, "The request body must be a JSON object {query, variables, operationName}."
            ))
        return await self.handle(EdgeRequest(
            headers, request.client.host if request.client else None, payload.get("query"), payload.get("variables"),
            payload.get("operationName"), payload.get("extensions"), True,
        ))

    async def get(self, request: Request) -> Response:
        headers, params = request.headers, request.query_params
        if "query" not in params and self.graphiql_page is not None and "text/html" in headers.get("accept", ""):
            return self.graphiql_page()
        variables: Any = None
        if params.get("variables"):
            try:
                variables = orjson.loads(params["variables"])
            except orjson.JSONDecodeError:
                return self.answer(headers, refused(400, RouterErrorCode.BAD_USER_INPUT, "The variables parameter is not valid JSON."))
        extensions: Any = None
        if params.get("extensions"):
            try:
                extensions = orjson.loads(params["extensions"])
            except orjson.JSONDecodeError:
                return self.answer(headers, refused(400, RouterErrorCode.BAD_USER_INPUT, "The extensions parameter is not valid JSON."))
        return await self.handle(EdgeRequest(
            headers, request.client.host if request.client else None, params.get("query"), variables,
            params.get("operationName"), extensions, False,
        ))

    # ------------------------------------------------------------ stages, then the operation

    async def handle(self, request: EdgeRequest) -> Response:
        for stage in self.stages:
            refusal = (await stage.check(request)) if stage.awaits else stage.check(request)  # type: ignore[misc]  # `awaits` says which
            if refusal is not None:
                return self.answer(request.headers, refusal)  # type: ignore[arg-type]  # awaited above when it must be
        headers = request.headers
        transport = streaming_transport(headers.get("accept", ""))
        if transport is not None:  # SSE or multipart: subscriptions (and single results) as a stream
            try:
                operation = self.live.engine.prepare(
                    GraphQLRequest(request.query, request.variables, request.operation_name),
                    allow_mutations=request.allow_mutations, headers=self.live.headers_for(request.caller),
                )
            except RequestError as error:
                # Before any stream: JSON, and never 2xx, so that a stream client (which
                # expects an event stream on 200) sees the request failed.
                return self.answer(headers, ExecutionOutcome({"errors": error.to_errors()}, max(error.status, 400)))
            return self.live.stream(transport, operation, request.caller)
        return await self.execute(request)

    async def execute(self, request: EdgeRequest) -> Response:
        headers, caller = request.headers, request.caller
        include_plan = self.expose_query_plan and headers.get(QUERY_PLAN_HEADER, "") not in ("", "0", "false")
        started = time.perf_counter()
        try:
            with self.tracing.span(headers) as span:
                outcome = await self.pipeline.execute(
                    GraphQLRequest(request.query, request.variables, request.operation_name),
                    internal_headers(self.internal_secret, caller.user_id, request.address, session_id=caller.session_id),
                    allow_mutations=request.allow_mutations,
                    include_plan=include_plan,
                    charge=None if self.limiter is None else self._cost_charger(request, self.limiter),
                )
                self.tracing.record(span, headers, request.operation_name, outcome)
        except Exception:  # a router bug: logged with an id, never a trace to the client
            request_id = uuid.uuid4().hex[:12]
            log.exception("request failed (request id %s)", request_id)
            error = {
                "message": f"Internal server error (request id {request_id}).",
                "extensions": {"code": RouterErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
            }
            return self.answer(headers, ExecutionOutcome({"errors": [error]}, 500), started)
        return self.answer(headers, outcome, started)

    def _cost_charger(self, request: EdgeRequest, limiter: RateLimiter):
        """Bills an operation's estimated cost to the caller's cost bucket: 1 was drawn at
        the door with the operation itself, the rest once demand control knows the cost."""
        metrics, caller, address = self.metrics, request.caller, request.address

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


async def read_body(request: Request, limit: int | None) -> bytes | None:
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


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)
