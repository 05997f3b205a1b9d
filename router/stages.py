"""The stages a GraphQL request over HTTP passes before it runs, each a small unit with
one job, in the order `edge_stages` puts them (as Apollo Router's layers and Hive
Router's pipeline stages): CSRF, the request's Content-Type, its Accept header, client
address, authentication, rate limits, refusing bad credentials, automatic persisted
queries, the request's shape. docs/router.md, "At the door", is the same list for operators.

A stage reads and fills in one `EdgeRequest` and returns None to let it through, or the
refusal (an ExecutionOutcome) the edge answers with; nothing after a refusal runs. A stage
that has nothing to do for this router's configuration is not in the list at all (CSRF
switched off, no trusted proxies, no authenticator, rate limits off), so it costs nothing.
Stages that need no I/O are plain functions (`awaits = False`): the edge calls them
without an await on the hot path."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping, Protocol

from router.auth import ANONYMOUS, AuthenticationError, Authenticator, Caller
from router.csrf import CsrfPolicy, csrf_refusal
from router.errors import RequestError, RouterErrorCode
from router.identity_headers import client_address
from router.media import acceptable_media_type
from router.persisted_queries import PersistedQueries
from router.pipeline import ExecutionOutcome
from router.rate_limit import RateLimited
from router.subscriptions.streaming import streaming_transport

# The caller's buckets for one operation: (caller, client address) -> a refusal or None.
Admit = Callable[[Caller, "str | None"], Awaitable["RateLimited | None"]]


class EdgeRequest:
    """One /graphql request as the stages see it: the decoded GraphQL fields, and what the
    stages learn about it (client address, caller)."""

    __slots__ = (
        "headers", "peer", "query", "variables", "operation_name", "extensions", "allow_mutations",
        "address", "caller", "refused_credentials", "unsupported_body",
    )

    def __init__(
        self, headers: Mapping[str, str], peer: str | None, query: Any, variables: Any, operation_name: Any,
        extensions: Any, allow_mutations: bool, *, unsupported_body: bool = False,
    ):
        self.headers = headers  # case-insensitive (Starlette's Headers)
        self.peer = peer  # the TCP peer's address
        self.query = query
        self.variables = variables
        self.operation_name = operation_name
        self.extensions = extensions
        self.allow_mutations = allow_mutations  # False for GET
        # The client's address the rate limits and the subgraphs see (ClientAddressStage).
        self.address = peer
        self.caller: Caller = ANONYMOUS
        # Credentials the authenticator refused: charged as anonymous, then answered 401.
        self.refused_credentials: AuthenticationError | None = None
        # A POST whose Content-Type is missing or not JSON (its body was not read):
        # ContentTypeStage refuses it.
        self.unsupported_body = unsupported_body


class Stage(Protocol):
    # True: `check` is a coroutine function; False: a plain one.
    awaits: bool

    def check(self, request: EdgeRequest) -> "ExecutionOutcome | None | Awaitable[ExecutionOutcome | None]": ...


def refused(status: int, code: RouterErrorCode, message: str, headers: Mapping[str, str] | None = None) -> ExecutionOutcome:
    """A request refused at the edge, before the pipeline."""
    return ExecutionOutcome({"errors": [{"message": message, "extensions": {"code": code.value}}]}, status, headers=headers)


class CsrfStage:
    """Simple (non-preflighted) requests without a CSRF header: 400 BAD_USER_INPUT (router/csrf.py)."""

    awaits = False
    __slots__ = ("policy",)

    def __init__(self, policy: CsrfPolicy):
        self.policy = policy

    def check(self, request: EdgeRequest) -> ExecutionOutcome | None:
        refusal = csrf_refusal(request.headers, self.policy)
        return None if refusal is None else refused(400, RouterErrorCode.BAD_USER_INPUT, refusal)


class ContentTypeStage:
    """A POST whose body is not declared JSON (no Content-Type, or `text/plain`, a form, ...):
    415 BAD_USER_INPUT. GraphQL over HTTP asks a server to refuse a POST without a Content-Type
    with a 4xx, and reads POST bodies as `application/json`; guessing JSON from another type
    would accept what no client of ours sends. After CsrfStage: without a CSRF header such a
    request is a simple one, refused as a possible CSRF as before."""

    awaits = False
    __slots__ = ()

    def check(self, request: EdgeRequest) -> ExecutionOutcome | None:
        if not request.unsupported_body:
            return None
        declared = request.headers.get("content-type", "").strip()
        said = f"its Content-Type is {declared!r}" if declared else "it has no Content-Type"
        return refused(
            415, RouterErrorCode.BAD_USER_INPUT,
            f"A POST to /graphql must send its body as JSON with 'Content-Type: application/json'; {said}.",
        )


class AcceptStage:
    """An Accept header that allows no answer this endpoint gives: 406 BAD_USER_INPUT, before
    anything runs (GraphQL over HTTP lets a server refuse rather than answer a type the client
    did not ask for). The answers: application/graphql-response+json, application/json, and
    the streams (text/event-stream, multipart/mixed with subscriptionSpec)."""

    awaits = False
    __slots__ = ()

    def check(self, request: EdgeRequest) -> ExecutionOutcome | None:
        accept = request.headers.get("accept")
        if acceptable_media_type(accept) is not None or streaming_transport(accept or "") is not None:
            return None
        return refused(
            406, RouterErrorCode.BAD_USER_INPUT,
            "The Accept header allows none of the media types /graphql answers with: application/graphql-response+json, "
            'application/json, text/event-stream or multipart/mixed;subscriptionSpec="1.0".',
        )


class ClientAddressStage:
    """The client's address behind trusted proxies (X-Forwarded-For believed only from them).
    Without trusted proxies it is the peer, which EdgeRequest starts with."""

    awaits = False
    __slots__ = ("trusted_proxies",)

    def __init__(self, trusted_proxies: frozenset[str]):
        self.trusted_proxies = trusted_proxies

    def check(self, request: EdgeRequest) -> None:
        request.address = client_address(request.peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        return None


class AuthenticateStage:
    """Who is calling, from the platform's authenticator (router/auth.py). Refused credentials
    are remembered, not answered yet: the request is charged to the anonymous rate limits
    first, so guessing tokens is rate-limited too (RefuseCredentialsStage answers)."""

    awaits = True
    __slots__ = ("authenticator",)

    def __init__(self, authenticator: Authenticator):
        self.authenticator = authenticator

    async def check(self, request: EdgeRequest) -> None:
        try:
            request.caller = await self.authenticator.authenticate(request.headers)
        except AuthenticationError as error:
            request.refused_credentials = error
        return None


class RateLimitStage:
    """The caller's token buckets (router/rate_limit.py): 429 RATE_LIMITED with Retry-After."""

    awaits = True
    __slots__ = ("admit",)

    def __init__(self, admit: Admit):
        self.admit = admit

    async def check(self, request: EdgeRequest) -> ExecutionOutcome | None:
        refusal = await self.admit(request.caller, request.address)
        if refusal is None:
            return None
        return ExecutionOutcome({"errors": [refusal.error()]}, 429, headers=refusal.headers())


class RefuseCredentialsStage:
    """Credentials the authenticator refused, once the rate limits let the request through:
    401 UNAUTHENTICATED with the authenticator's message."""

    awaits = False
    __slots__ = ()

    def check(self, request: EdgeRequest) -> ExecutionOutcome | None:
        error = request.refused_credentials
        return None if error is None else refused(401, error.code, error.message)


class PersistedQueryStage:
    """Automatic persisted queries (router/persisted_queries.py): the query text for a hash."""

    awaits = False
    __slots__ = ("persisted",)

    def __init__(self, persisted: PersistedQueries):
        self.persisted = persisted

    def check(self, request: EdgeRequest) -> ExecutionOutcome | None:
        try:
            request.query = self.persisted.resolve(request.query, request.extensions)
        except RequestError as error:
            return ExecutionOutcome({"errors": error.to_errors()}, error.status)
        return None


class RequestShapeStage:
    """`variables` a JSON object and `operationName` a string, when given: 400 BAD_USER_INPUT."""

    awaits = False
    __slots__ = ()

    def check(self, request: EdgeRequest) -> ExecutionOutcome | None:
        if request.variables is not None and not isinstance(request.variables, dict):
            return refused(400, RouterErrorCode.BAD_USER_INPUT, "Variables must be a JSON object.")
        if request.operation_name is not None and not isinstance(request.operation_name, str):
            return refused(400, RouterErrorCode.BAD_USER_INPUT, "operationName must be a string.")
        return None


def edge_stages(
    *, csrf: CsrfPolicy, trusted_proxies: frozenset[str], authenticator: Authenticator | None,
    admit: Admit | None, persisted: PersistedQueries,
) -> tuple[Stage, ...]:
    """The stages in the order a request meets them, without those that have nothing to do."""
    stages: list[Stage] = []
    if csrf.enabled:
        stages.append(CsrfStage(csrf))
    stages.append(ContentTypeStage())
    stages.append(AcceptStage())
    if trusted_proxies:
        stages.append(ClientAddressStage(trusted_proxies))
    if authenticator is not None:
        stages.append(AuthenticateStage(authenticator))
    if admit is not None:
        stages.append(RateLimitStage(admit))
    if authenticator is not None:
        stages.append(RefuseCredentialsStage())
    stages.append(PersistedQueryStage(persisted))
    stages.append(RequestShapeStage())
    return tuple(stages)
