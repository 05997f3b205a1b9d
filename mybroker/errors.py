"""The contract's error codes (../shared/contract/README.md) as one typed exception.

Services raise DomainError; the GraphQL layer turns it into `extensions.code` and a plain
message. Anything else becomes INTERNAL_SERVER_ERROR with a request id, never a trace."""
from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    UNKNOWN_ASSET = "UNKNOWN_ASSET"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    INSUFFICIENT_POSITION = "INSUFFICIENT_POSITION"
    # A withdrawal above the settled cash: the rest comes from sales still to settle (D+2).
    UNSETTLED_FUNDS = "UNSETTLED_FUNDS"
    ORDER_NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"
    # A STOP / STOP_LIMIT whose stopPrice is on the wrong side of the last price: a SELL's
    # at or above it, a BUY's at or below it (it would trigger at once).
    STOP_PRICE_WRONG_SIDE = "STOP_PRICE_WRONG_SIDE"
    # placeOrder with a clientOrderId already used for an order with other terms.
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    RATE_LIMITED = "RATE_LIMITED"
    OPERATION_TOO_COMPLEX = "OPERATION_TOO_COMPLEX"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    # Added by the router for requests that are not valid GraphQL at all.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # The router's edge: introspection switched off, automatic persisted queries (Apollo's
    # codes, so Apollo clients recognise them).
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    # A subgraph did not answer in time or at all (refused, timed out, past the operation's
    # deadline), or answered that it is too busy (its database pool stayed full): nothing is
    # wrong with the request, and the same request may succeed in a moment.
    SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"


class DomainError(Exception):
    """An error the caller caused and can read: a contract code and a human message."""

    def __init__(self, code: ErrorCode, message: str, extensions: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        # More for a client to act on, beside `code` (e.g. login's {"reason": "TOTP_REQUIRED"}).
        self.extensions = extensions or {}

    def __repr__(self) -> str:
        return f"DomainError({self.code.value}, {self.message!r})"


def unauthenticated(message: str = "You must be signed in to do this.") -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, message)


def forbidden(message: str = "This belongs to someone else.") -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message)


def bad_input(message: str) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, message)
