"""The router's own error codes, and the errors it raises while handling a request.

The codes are the router's, not the broker's: the ones it emits itself at its edge and in
its pipeline (Apollo's names where Apollo has one, so Apollo clients recognise them). A
subgraph's codes (INSUFFICIENT_FUNDS, EMAIL_TAKEN, ...) are not listed here: they pass
through as the strings the subgraph sent (router/executor.py). Every value is also one
of the broker's codes (mybroker.errors.ErrorCode: the public contract's, ../shared/contract/
README.md, with the extras docs/design.md lists); tests/unit/router/test_router_error_codes.py
holds the two lists together."""
from __future__ import annotations

from enum import Enum
from typing import Any


class RouterErrorCode(str, Enum):
    # A request the router cannot read, or values of the wrong type (an unknown enum).
    BAD_USER_INPUT = "BAD_USER_INPUT"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # An access token was sent and the platform's authenticator refused it (HTTP 401).
    UNAUTHENTICATED = "UNAUTHENTICATED"
    # Limits: body size, parser, depth, aliases, root fields, fields, cost.
    OPERATION_TOO_COMPLEX = "OPERATION_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    # Automatic persisted queries (Apollo's codes).
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    # A subgraph refused, timed out or answered without GraphQL: the request may be sent again.
    SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"
    # A router bug, or a subgraph error without a code of its own.
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


# The status of a GraphQL request error in a well-formed request (a document that does not
# parse or validate, variables that do not coerce) under `application/json`: 200, as GraphQL
# over HTTP asks of that legacy media type, with the error's code in `errors`. Under
# `application/graphql-response+json` router/media.py answers it 400 (no `data`: never 2xx).
GRAPHQL_REQUEST_ERROR_STATUS = 200


class RequestError(Exception):
    """The request cannot be executed at all: nothing reached a subgraph. `status` is the
    HTTP status under `application/json`; router/media.py derives the one under
    `application/graphql-response+json` from it."""

    def __init__(self, code: RouterErrorCode, message: str, *, status: int = 400, locations: list | None = None,
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        # HTTP headers for the refusal (Retry-After on RATE_LIMITED).
        self.headers = headers
        self.locations = locations
        self._errors = errors

    def to_errors(self) -> list[dict[str, Any]]:
        if self._errors is not None:
            return self._errors
        error: dict[str, Any] = {"message": self.message}
        if self.locations:
            error["locations"] = self.locations
        error["extensions"] = {"code": self.code.value}
        return [error]


class PlanningError(Exception):
    """The supergraph cannot answer a valid operation (a composition gap): a server problem."""
