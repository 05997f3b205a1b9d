"""Errors the router itself raises while handling a request, each with the contract's
code (mybroker.errors.ErrorCode) and, at the HTTP edge, a status."""
from __future__ import annotations

from typing import Any

from mybroker.errors import ErrorCode


class RequestError(Exception):
    """The request cannot be executed at all: nothing reached a subgraph."""

    def __init__(self, code: ErrorCode, message: str, *, status: int = 400, locations: list | None = None,
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
