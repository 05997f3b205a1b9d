"""What the router forwards to subgraphs about the caller: the header names it writes
(router/identity_headers.py) are the ones the subgraphs read (mybroker/auth.py), and which
client address it believes."""
from __future__ import annotations

import pytest

import mybroker.auth as subgraph_side
import router.identity_headers as router_side


def test_the_router_writes_the_headers_the_subgraphs_read():
    for name in ("INTERNAL_TOKEN_HEADER", "USER_HEADER", "SESSION_HEADER", "CLIENT_ADDRESS_HEADER"):
        assert getattr(router_side, name) == getattr(subgraph_side, name), name
    sent = router_side.internal_headers("s3cret", "alice", "1.2.3.4", session_id="sid-1")
    assert sent == subgraph_side.internal_headers("s3cret", "alice", "1.2.3.4", session_id="sid-1")
    assert subgraph_side.caller_from_headers(sent, "s3cret") == subgraph_side.Caller("alice", "sid-1")
    assert subgraph_side.client_address_from_headers(sent, "s3cret") == "1.2.3.4"


@pytest.mark.parametrize(
    "peer, forwarded, expected",
    [
        ("203.0.113.5", None, "203.0.113.5"),
        ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # an untrusted peer's header is ignored
        ("10.0.0.1", "1.2.3.4", "1.2.3.4"),
        ("10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client wrote 6.6.6.6 itself
        ("10.0.0.1", "1.2.3.4, 10.0.0.2", "1.2.3.4"),  # through two trusted proxies
        ("10.0.0.1", None, "10.0.0.1"),
        (None, "1.2.3.4", None),
    ],
)
def test_client_address_believes_forwarded_for_only_from_trusted_proxies(peer, forwarded, expected):
    assert router_side.client_address(peer, forwarded, frozenset({"10.0.0.1", "10.0.0.2"})) == expected
