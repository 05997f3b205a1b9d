"""The router's own error codes (router.errors.RouterErrorCode) against the broker's list
(mybroker.errors.ErrorCode, the contract's codes and the documented extras): the router
emits nothing a client of the broker does not know, and a broker code from a subgraph
reaches the client as the subgraph wrote it."""
from __future__ import annotations

from mybroker.errors import ErrorCode
from router.errors import RequestError, RouterErrorCode
from router.executor import subgraph_errors


def test_every_router_code_is_one_of_the_broker_s():
    assert {code.value for code in RouterErrorCode} <= {code.value for code in ErrorCode}


def test_the_router_does_not_own_the_broker_s_business_codes():
    router_codes = {code.value for code in RouterErrorCode}
    for business in ("INSUFFICIENT_FUNDS", "EMAIL_TAKEN", "UNKNOWN_ASSET", "DUPLICATE_CLIENT_ORDER_ID", "FORBIDDEN"):
        assert business not in router_codes


def test_a_router_error_carries_the_code_as_a_plain_string():
    error = RequestError(RouterErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound", status=200)
    assert error.to_errors() == [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    assert type(error.to_errors()[0]["extensions"]["code"]) is str


def test_a_subgraph_s_code_passes_through_as_its_string():
    errors = subgraph_errors([{"message": "Saldo insuficiente.", "extensions": {"code": "INSUFFICIENT_FUNDS"}}], "wallet")
    assert errors == [{"message": "Saldo insuficiente.", "extensions": {"code": "INSUFFICIENT_FUNDS", "service": "wallet"}}]
