"""The edge's stages one at a time (router/stages.py), their order (edge_stages), the
answer every refusal goes through (router/edge.py), and an authenticator of the
platform's choosing plugged into the whole router."""
from __future__ import annotations

from typing import Mapping

import orjson
import pytest
from starlette.datastructures import Headers

from router.auth import ANONYMOUS, AuthenticationError, Caller
from router.csrf import CsrfPolicy
from router.edge import Answer
from router.metrics import RouterMetrics
from router.persisted_queries import PersistedQueries
from router.pipeline import ExecutionOutcome
from router.rate_limit import RateLimited
from router.stages import (
    AcceptStage,
    AuthenticateStage,
    ClientAddressStage,
    ContentTypeStage,
    CsrfStage,
    EdgeRequest,
    PersistedQueryStage,
    RateLimitStage,
    RefuseCredentialsStage,
    RequestShapeStage,
    edge_stages,
)

from .edge_support import edge_router
from .router_fixture_subgraphs import SECRET


def request(headers: Mapping[str, str] | None = None, *, peer="203.0.113.9", query="{ me { name } }", variables=None,
            operation_name=None, extensions=None, allow_mutations=True, unsupported_body=False) -> EdgeRequest:
    return EdgeRequest(
        Headers(headers or {}), peer, query, variables, operation_name, extensions, allow_mutations, unsupported_body=unsupported_body
    )


def error_of(outcome: ExecutionOutcome) -> tuple[int, str, str]:
    (error,) = outcome.body["errors"]
    return outcome.status, error["extensions"]["code"], error["message"]


class Authenticator:
    """Signs in whoever sends `x-api-key: key-<user>`; refuses any other key."""

    def __init__(self):
        self.seen: list[Mapping[str, str]] = []

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        self.seen.append(headers)
        key = headers.get("x-api-key")
        if key is None:
            return ANONYMOUS
        if not key.startswith("key-"):
            raise AuthenticationError("Unknown API key.")
        return Caller(key.removeprefix("key-"), "session-" + key)


# ---------------------------------------------------------------- one stage at a time


def test_csrf_refuses_a_simple_request_without_a_preflight_header():
    stage = CsrfStage(CsrfPolicy())
    status, code, message = error_of(stage.check(request({"content-type": "text/plain"})))
    assert (status, code) == (400, "BAD_USER_INPUT") and "Cross-Site Request Forgery" in message
    assert stage.check(request({"content-type": "application/json"})) is None
    assert stage.check(request({"apollo-require-preflight": "true"})) is None


def test_a_post_body_not_declared_json_is_refused_with_415():
    stage = ContentTypeStage()
    status, code, message = error_of(stage.check(request({}, unsupported_body=True)))
    assert (status, code) == (415, "BAD_USER_INPUT") and "it has no Content-Type" in message
    status, _, message = error_of(stage.check(request({"content-type": "text/plain;charset=UTF-8"}, unsupported_body=True)))
    assert status == 415 and "'text/plain;charset=UTF-8'" in message and "application/json" in message
    assert stage.check(request({"content-type": "application/json"})) is None


@pytest.mark.parametrize("accept, refused", [
    (None, False),
    ("*/*", False),
    ("application/json", False),
    ("application/graphql-response+json", False),
    ("text/event-stream", False),  # a stream (router/subscriptions)
    ('multipart/mixed;subscriptionSpec="1.0", application/json', False),
    ("text/html", True),
    ("application/xml, text/plain;q=0.5", True),
    ("application/json;q=0, application/graphql-response+json;q=0", True),
])
def test_an_accept_header_allowing_no_answer_is_refused_with_406(accept, refused):
    outcome = AcceptStage().check(request({} if accept is None else {"accept": accept}))
    if not refused:
        assert outcome is None
        return
    status, code, message = error_of(outcome)
    assert (status, code) == (406, "BAD_USER_INPUT") and "application/graphql-response+json" in message


def test_the_client_address_is_believed_from_trusted_proxies_only():
    stage = ClientAddressStage(frozenset({"10.0.0.1"}))
    behind = request({"x-forwarded-for": "6.6.6.6, 1.2.3.4"}, peer="10.0.0.1")
    direct = request({"x-forwarded-for": "1.2.3.4"}, peer="203.0.113.9")
    assert stage.check(behind) is None and stage.check(direct) is None
    assert (behind.address, direct.address) == ("1.2.3.4", "203.0.113.9")
    assert request(peer="203.0.113.9").address == "203.0.113.9"  # without the stage: the peer


async def test_authentication_sets_the_caller_and_keeps_a_refusal_for_later():
    authenticator = Authenticator()
    stage = AuthenticateStage(authenticator)
    signed_in, anonymous, bad = request({"x-api-key": "key-ana"}), request(), request({"x-api-key": "guess"})
    for each in (signed_in, anonymous, bad):
        assert await stage.check(each) is None  # never answers itself: the rate limits come first
    assert (signed_in.caller, anonymous.caller, bad.caller) == (Caller("ana", "session-key-ana"), ANONYMOUS, ANONYMOUS)
    assert authenticator.seen[0]["x-api-key"] == "key-ana"  # the request's own headers
    assert bad.refused_credentials is not None
    assert error_of(RefuseCredentialsStage().check(bad)) == (401, "UNAUTHENTICATED", "Unknown API key.")
    assert RefuseCredentialsStage().check(signed_in) is None


async def test_rate_limits_are_asked_with_the_caller_and_the_address():
    asked = []

    async def admit(caller, address):
        asked.append((caller, address))
        return RateLimited("ip", 1.2) if address == "198.51.100.7" else None

    stage = RateLimitStage(admit)
    assert await stage.check(request(peer="203.0.113.9")) is None
    outcome = await stage.check(request(peer="198.51.100.7"))
    assert (outcome.status, outcome.headers) == (429, {"retry-after": "2"})
    assert outcome.body == {"errors": [RateLimited("ip", 1.2).error()]}
    assert asked == [(ANONYMOUS, "203.0.113.9"), (ANONYMOUS, "198.51.100.7")]


def test_persisted_queries_resolve_the_text_or_answer_not_found():
    stage = PersistedQueryStage(PersistedQueries(10))
    unknown = request(query=None, extensions={"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}})
    assert error_of(stage.check(unknown)) == (200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
    plain = request(query="{ me { name } }")
    assert stage.check(plain) is None and plain.query == "{ me { name } }"


@pytest.mark.parametrize("fields, message", [
    ({"variables": [1]}, "Variables must be a JSON object."),
    ({"operation_name": 3}, "operationName must be a string."),
])
def test_the_request_shape(fields, message):
    assert error_of(RequestShapeStage().check(request(**fields))) == (400, "BAD_USER_INPUT", message)
    assert RequestShapeStage().check(request(variables={"n": 1}, operation_name="Q")) is None


# ---------------------------------------------------------------- the list


async def _admit(caller, address):
    return None


def test_the_stages_run_in_the_documented_order_and_only_when_configured():
    full = edge_stages(
        csrf=CsrfPolicy(), trusted_proxies=frozenset({"10.0.0.1"}), authenticator=Authenticator(), admit=_admit,
        persisted=PersistedQueries(10),
    )
    assert [type(stage).__name__ for stage in full] == [
        "CsrfStage", "ContentTypeStage", "AcceptStage", "ClientAddressStage", "AuthenticateStage", "RateLimitStage", "RefuseCredentialsStage",
        "PersistedQueryStage", "RequestShapeStage",
    ]
    bare = edge_stages(
        csrf=CsrfPolicy(enabled=False), trusted_proxies=frozenset(), authenticator=None, admit=None,
        persisted=PersistedQueries(10),
    )
    assert [type(stage).__name__ for stage in bare] == ["ContentTypeStage", "AcceptStage", "PersistedQueryStage", "RequestShapeStage"]
    # No I/O, no await: only authentication and the rate limits are coroutines.
    assert [stage.awaits for stage in full] == [False, False, False, False, True, True, False, False, False]


# ---------------------------------------------------------------- the answer


def test_every_answer_is_negotiated_and_counted():
    metrics = RouterMetrics()
    answer = Answer(metrics)
    not_found = ExecutionOutcome({"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}, 200)
    as_json = answer(Headers({}), not_found)
    strict = answer(Headers({"accept": "application/graphql-response+json"}), not_found)
    assert (as_json.status_code, as_json.headers["content-type"], as_json.headers["vary"]) == (200, "application/json", "accept")
    assert (strict.status_code, strict.headers["content-type"]) == (400, "application/graphql-response+json; charset=utf-8")
    assert as_json.body == orjson.dumps(not_found.body)
    assert answer(Headers({}), ExecutionOutcome({"errors": []}, 405)).headers["allow"] == "POST"
    assert 'router_errors_total{code="PERSISTED_QUERY_NOT_FOUND"} 2.0' in metrics.exposition().decode()


# ---------------------------------------------------------------- plugged into the router


async def test_an_authenticator_of_the_platform_s_choosing_decides_who_calls(supergraph, store):
    from .test_router_http import post

    async with edge_router(supergraph, store, authenticator=Authenticator()) as (url, app):
        client = app.state.pipeline.executor.client.inner
        status, body = await post(url, {"query": "{ me { name } }"}, {"x-api-key": "key-1"})
        assert status == 200 and body["data"]["me"] is not None
        assert client.calls[-1][2]["x-mybroker-user"] == "1"
        assert client.calls[-1][2]["x-mybroker-session"] == "session-key-1"
        assert client.calls[-1][2]["x-mybroker-internal-token"] == SECRET
        status, body = await post(url, {"query": "{ me { name } }"}, {"x-api-key": "nope"})
        assert (status, body) == (401, {"errors": [{"message": "Unknown API key.", "extensions": {"code": "UNAUTHENTICATED"}}]})
