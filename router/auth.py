"""Who is calling: the hook through which the platform authenticates requests.

The router verifies nothing itself. It is given an `Authenticator` (the platform adapts
its JWT verification into one: launch/router_app.py) and asks it once per request
with the request's headers (a WebSocket's once per connection, its `connection_init`
Authorization first). The answer is a `Caller`; `AuthenticationError` refuses the
request (HTTP 401 UNAUTHENTICATED, after it was charged to the anonymous rate limits;
a WebSocket closes with 4403). Without an authenticator every caller is anonymous."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol

from router.errors import RouterErrorCode


@dataclass(frozen=True, slots=True)
class Caller:
    # The user the request acts for (forwarded to subgraphs), None for anonymous.
    user_id: str | None = None
    # The sign-in session it belongs to (forwarded beside the user id), if the token names one.
    session_id: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None


ANONYMOUS = Caller()


class AuthenticationError(Exception):
    """Credentials were presented and are not good: the message is the client's."""

    code = RouterErrorCode.UNAUTHENTICATED

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Authenticator(Protocol):
    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """The caller the headers prove (ANONYMOUS when they carry no credentials);
        raises AuthenticationError when they carry bad ones."""
        ...
