"""What the router tells subgraphs about a request: the shared secret proving the request
comes from the router, and beside it the caller's user id, session and client address.

These header names are the router's side of the trust between router and subgraphs
(docs/design.md, "Trust between services"); the subgraphs' side reads them in
mybroker/auth.py, and tests/unit/router/test_router_identity_headers.py keeps the two
spellings equal. Also here: which client address the router believes."""
from __future__ import annotations

INTERNAL_TOKEN_HEADER = "x-mybroker-internal-token"
USER_HEADER = "x-mybroker-user"
SESSION_HEADER = "x-mybroker-session"
CLIENT_ADDRESS_HEADER = "x-mybroker-client-address"


def internal_headers(
    secret: str, user_id: str | None = None, client_address: str | None = None, session_id: str | None = None
) -> dict[str, str]:
    """The headers of every subgraph request made for one operation."""
    headers = {INTERNAL_TOKEN_HEADER: secret}
    if user_id:
        headers[USER_HEADER] = user_id
        if session_id:
            headers[SESSION_HEADER] = session_id
    if client_address:
        headers[CLIENT_ADDRESS_HEADER] = client_address
    return headers


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: frozenset[str] | set[str]) -> str | None:
    """The client's address: the TCP peer, unless the peer is a trusted proxy, in which case
    the right-most X-Forwarded-For entry that is not itself a trusted proxy (entries further
    left were written by the client and prove nothing)."""
    if peer is None or peer not in trusted_proxies or not forwarded_for:
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if hop not in trusted_proxies:
            return hop
    return peer
