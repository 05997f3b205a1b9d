"""What every Strawberry subgraph shares: the contract's scalars, the request context,
and error formatting to the contract's codes.

Resolvers stay one-liners into the service layer: they read `info.context.caller` and
`info.context.service`, and raise DomainError for anything the caller did wrong."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial
from decimal import Decimal
from typing import Any, Callable, Generic, TypeVar

import strawberry
from fastapi import APIRouter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from graphql import DocumentNode, FieldNode, GraphQLError, StringValueNode, visit
from graphql.language import BREAK, Visitor
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult

from mybroker.auth import Caller, caller_from_headers, client_address_from_headers, is_internal
from mybroker.errors import DomainError, ErrorCode, bad_input, forbidden
from mybroker.events import iso, parse_iso
from mybroker.graphql_direct import DirectPath, encode, plain_operation, takes_json
from mybroker.money import MoneyFormatError, format_money, parse_money

log = logging.getLogger("mybroker.graphql")


def _parse_decimal(value: object) -> Decimal:
    try:
        return parse_money(value)
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from None


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("expected an ISO-8601 timestamp string")
    try:
        return parse_iso(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description=(
        'A decimal number as a string with exactly two decimal places, e.g. "1234.50". Never a float. '
        'On input: a string of ASCII digits with at most two decimal places ("100", "100.5", "100.50"); '
        "no sign, exponent, digit separators, spaces, other scripts' digits or JSON numbers (BAD_USER_INPUT)."
    ),
    serialize=format_money,
    parse_value=_parse_decimal,
)
DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description='An ISO-8601 timestamp with offset, e.g. "2026-11-24T13:05:00.123Z".',
    serialize=iso,
    parse_value=_parse_datetime,
)

CONFIG = StrawberryConfig(scalar_map={Decimal: DecimalScalar, datetime: DateTimeScalar})


class SubgraphSchema(strawberry.federation.Schema):
    # True when its extensions are federation_schema's four alone (the direct path's test).
    house_extensions_only = False

    def process_errors(self, errors, execution_context=None) -> None:
        """Shapes every error to the contract in place (format_error logs the unexpected
        ones, once): the subscription WebSocket sends `error.formatted` as it stands."""
        for error in errors:
            shaped = format_error(error)
            error.message = shaped["message"]
            error.extensions = shaped["extensions"]


# Distinct operations a subgraph keeps parsed and validated: the router sends the same few
# query shapes again and again, and parsing plus validating one was most of a small
# request's cost (about 3 of 5 ms for `asset { quote { price } }`). Validation depends
# only on the document and the schema, so a cached verdict is the verdict.
DOCUMENT_CACHE_SIZE = 1024


# The longest string any argument may carry, literal or variable, in every subgraph: above the
# longest legitimate value (a password may have 1,024 characters, a refresh token a few
# hundred) and far below what makes a database or a LIKE scan work hard (issue 13: a
# 50,010-character `assets(search:)` was an INTERNAL_SERVER_ERROR). Fields with a tighter
# meaning cap themselves further (e-mail 254, name 100, search 100, clientOrderId 64).
MAX_STRING_ARGUMENT = 2048


# A database pool that stayed full for MYBROKER_DB_POOL_TIMEOUT: nothing is wrong with the
# request, so the caller is told to try again, not handed an internal error and a trace.
BUSY_MESSAGE = "Serviço ocupado, tente de novo em instantes (service busy, try again)."


def too_long_message(limit: int) -> str:
    return f"Texto longo demais: no máximo {limit} caracteres (text too long: at most {limit} characters)."


class _LongLiteral(Visitor):
    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if len(node.value) > self.limit:
            self.found = True


def _long_literal(query: str, document, limit: int) -> bool:
    """True when a string literal in the document is longer than `limit`. A text no longer
    than the limit cannot hold one, so the walk (8% of a subgraph's CPU on the simplest
    query when done every time) is only for long texts."""
    if len(query) <= limit:
        return False
    finder = _LongLiteral(limit)
    visit(document, finder)
    return finder.found


def _longest_string(value: object, limit: int) -> bool:
    """True when some string inside a variables' JSON value is longer than `limit`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > limit:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class StringArgumentLimit(SchemaExtension):
    """Refuses, before execution and with BAD_USER_INPUT, any operation whose literals or
    variables hold a string longer than MAX_STRING_ARGUMENT. Runs after ValidationCache (it
    must see the variables, which a cached verdict on the document cannot)."""

    limit = MAX_STRING_ARGUMENT

    def on_validate(self):
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            error = too_long_error(context.query or "", context.graphql_document, context.variables, self.limit)
            if error is not None:
                context.pre_execution_errors = [error]
        yield


def too_long_error(
    query: str, document: DocumentNode, variables: dict[str, Any] | None, limit: int = MAX_STRING_ARGUMENT
) -> GraphQLError | None:
    """BAD_USER_INPUT when a literal or a variable holds a string longer than `limit`."""
    if _long_literal(query, document, limit) or _longest_string(variables or {}, limit):
        return GraphQLError(too_long_message(limit), original_error=bad_input(too_long_message(limit)))
    return None


# What maps a subgraph for a stranger who reaches it directly (not through the router): its
# federation SDL, which shows what the router hides (internal fields, entity keys, which
# subgraph owns what), and graphql-core's introspection. Only the router composing the
# supergraph needs them, and it sends the internal secret. `__typename` maps nothing and
# stays open (clients and health probes send `{ __typename }`).
ROUTER_ONLY_FIELDS = frozenset({"_service", "__schema", "__type"})
ROUTER_ONLY_MESSAGE = (
    "This subgraph answers _service and introspection only to the router (the internal secret); "
    "ask the router at /graphql instead."
)


class _RouterOnlyField(Visitor):
    def __init__(self):
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_args):
        if node.name.value in ROUTER_ONLY_FIELDS:
            self.found = True
            return BREAK
        return None


def asks_router_only_fields(document: DocumentNode) -> bool:
    """True when some field of the document (fragments included) is `_service`, `__schema`
    or `__type`, at any depth: a fragment on Query can carry them as well as the operation."""
    finder = _RouterOnlyField()
    visit(document, finder)
    return finder.found


class RouterOnlyIntrospection(SchemaExtension):
    """Refuses, with FORBIDDEN and no data, `_service` and introspection to callers without
    the internal secret (GraphQLContext.internal). Reads the parsed document, so spelling,
    aliases and fragments cannot hide a field; the router's own requests carry the secret
    and skip the walk, so it costs nothing on the path that serves traders."""

    def on_validate(self):
        context = self.execution_context
        internal = getattr(context.context, "internal", False)
        if not internal and context.graphql_document is not None and asks_router_only_fields(context.graphql_document):
            # Replaces any validation errors too: their "did you mean" hints would map the schema.
            context.pre_execution_errors = [GraphQLError(ROUTER_ONLY_MESSAGE, original_error=forbidden(ROUTER_ONLY_MESSAGE))]
        yield


def federation_schema(*, extensions=(), **kwargs) -> SubgraphSchema:
    """A Federation 2 subgraph schema with the contract's scalars."""
    # Factories, not instances: Strawberry builds each extension per request (a shared
    # instance's execution_context would be every concurrent request's); the parse and
    # validation LRU caches themselves live at module level, keyed by size (>= 0.341).
    cached: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
        StringArgumentLimit,
        RouterOnlyIntrospection,
    ]
    schema = SubgraphSchema(config=CONFIG, extensions=[*cached, *extensions], **kwargs)
    schema.house_extensions_only = not extensions
    return schema


ServiceT = TypeVar("ServiceT")


class GraphQLContext(Generic[ServiceT]):
    """What a resolver finds in `info.context`. Each subgraph's schema names its own,
    `Info = strawberry.Info[GraphQLContext[ItsService], None]`, so `info.context.service`
    is typed there (checked by mypy, `make lint`)."""

    def __init__(self, caller: Caller, service: ServiceT, client_address: str | None = None, *, internal: bool = False):
        self.caller = caller
        # The request carried the internal secret (it came from the router or a sibling
        # service): only then are `_service` and introspection answered.
        self.internal = internal
        # The client's address the router vouched for (None when called directly).
        self.client_address = client_address
        self.service = service
        self.loaders: dict[str, Any] = {}


def format_error(error: GraphQLError) -> dict[str, Any]:
    """One GraphQL error in the contract's shape: a code, a plain message, no internals.
    Memoised on the error, so a second call neither logs again nor mints a new request id."""
    shaped = getattr(error, "_contract_shape", None)
    if shaped is None:
        shaped = error._contract_shape = _contract_shape(error)  # type: ignore[attr-defined]
    return shaped


def _contract_shape(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, DomainError):
        code, message = original.code, original.message
        if original.extensions:
            return _shape(error, code, message, dict(original.extensions))
    elif (
        original is None
        or isinstance(original, GraphQLError)
        # An inline literal a scalar refused (e.g. amount: "1.234"): raised while validating
        # the request, so outside any field (no path).
        or (error.path is None and isinstance(original, (ValueError, TypeError)))
    ):
        # graphql-core's own errors: the request or its values do not fit the schema.
        code, message = ErrorCode.BAD_USER_INPUT, error.message
    elif _pool_timeout(original):
        request_id = uuid.uuid4().hex[:12]
        # No trace: the pool's own message says how full it was and how long we waited.
        log.warning("database pool busy %s at %s: %s", request_id, error.path, _pool_timeout(original))
        return _shape(error, ErrorCode.SUBGRAPH_UNAVAILABLE, BUSY_MESSAGE, {"requestId": request_id})
    else:
        request_id = uuid.uuid4().hex[:12]
        log.error("internal error %s at %s", request_id, error.path, exc_info=original)
        code, message = ErrorCode.INTERNAL_SERVER_ERROR, f"Internal server error (request id {request_id})."
        return _shape(error, code, message, {"requestId": request_id})
    return _shape(error, code, message, {})


def _pool_timeout(error: BaseException | None) -> PoolTimeout | None:
    """The pool checkout timeout behind `error`, itself or what it was raised from."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, PoolTimeout):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


def _shape(error: GraphQLError, code: ErrorCode, message: str, extra: dict[str, Any]) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = list(error.path)
    formatted["extensions"] = {**(error.extensions or {}), "code": code.value, **extra}
    return formatted


class SubgraphGraphQL(GraphQL[GraphQLContext[Any], None]):
    """Strawberry's plain ASGI app with the contract's error format and the caller the
    router vouched for in its context. Plain ASGI rather than Strawberry's FastAPI router:
    FastAPI's per-request dependency solving cost about a third of a subgraph's CPU per
    query on the simplest read (profile in BENCHMARKS.md), and the GraphQL endpoint uses
    none of it."""

    def __init__(self, schema: strawberry.federation.Schema, service: Any, internal_secret: str):
        # graphql-ws: a WebSocket that sends no connection_init is closed after 10 s (strawberry's
        # default is 60 s), as the router does (docs/design.md, "Production mode and edge timeouts").
        super().__init__(schema, connection_init_wait_timeout=timedelta(seconds=10))
        self.service = service
        self.internal_secret = internal_secret
        # Only for a schema whose extensions are the house's own four, whose work the
        # direct path repeats; a schema with more goes through Strawberry alone.
        self.direct = (
            DirectPath(
                schema, cache_size=DOCUMENT_CACHE_SIZE, too_long=too_long_error, router_only=asks_router_only_fields,
                format_error=format_error,
            )
            if isinstance(schema, SubgraphSchema) and schema.house_extensions_only
            else None
        )

    async def __call__(self, scope, receive, send) -> None:
        if self.direct is not None and scope["type"] == "http" and scope["method"] == "POST":
            headers = Headers(scope=scope)
            if takes_json(headers):
                body = await _read_body(receive)
                if body is None:
                    return  # the client left before its request was whole
                if await self._answer_directly(body, headers, send):
                    return
                receive = _replaying(body, receive)
        await super().__call__(scope, receive, send)

    async def _answer_directly(self, body: bytes, headers: Headers, send) -> bool:
        """Answers a plain operation on the direct path (mybroker.graphql_direct); False,
        having sent nothing, when the request is Strawberry's to answer."""
        assert self.direct is not None
        operation = plain_operation(body)
        if operation is None:
            return False
        context = self._context(headers)
        document = self.direct.prepare(operation, internal=context.internal)
        if document is None:
            return False
        payload = encode(await self.direct.execute(document, operation, context))
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode("latin-1"))],
        })
        await send({"type": "http.response.body", "body": payload})
        return True

    def _context(self, headers: Headers) -> GraphQLContext[Any]:
        return GraphQLContext(
            caller_from_headers(headers, self.internal_secret),
            self.service,
            client_address_from_headers(headers, self.internal_secret),
            internal=is_internal(headers, self.internal_secret),
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> GraphQLContext[Any]:
        return self._context(request.headers)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            response["errors"] = [format_error(error) for error in result.errors]
        return response


async def _read_body(receive) -> bytes | None:
    """The whole request body, or None when the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive):
    """`receive` for Strawberry once the body was read here: the body first, then the
    connection's own messages (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay():
        return pending.pop() if pending else await receive()

    return replay


def graphql_router(schema: strawberry.federation.Schema, service: Any, internal_secret: str) -> APIRouter:
    """Mounts `schema` at /graphql (HTTP and WebSocket) for `app.include_router`: routes
    straight to the ASGI app, past FastAPI's request handling."""
    endpoint = SubgraphGraphQL(schema, service, internal_secret)
    router = APIRouter()
    router.routes.append(Route("/graphql", endpoint, methods=["GET", "POST"]))
    router.routes.append(WebSocketRoute("/graphql", endpoint))
    return router
