"""router/media.py: the media type a client's Accept header picks, and the status each
answer gets under it (GraphQL over HTTP, "Body" and "Status Codes")."""
from __future__ import annotations

import pytest

from router.media import GRAPHQL_RESPONSE_JSON, JSON, acceptable_media_type, is_json_body, negotiated, response_media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),  # browsers' fetch, curl: what they always got
        ("application/json", JSON),
        ("text/html", JSON),  # nothing we serve: refused with 406 (AcceptStage), the refusal itself as JSON
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),  # the spec's own example
        ("application/json;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/json, application/graphql-response+json;q=0.9", JSON),
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE_JSON),  # equal q: the first listed
        ("application/json, application/graphql-response+json", JSON),
        ("application/graphql-response+json;q=0.5, */*", JSON),  # */* ranks application/json at 1
        ("application/graphql-response+json, */*;q=0.8", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/*;q=0.4", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0, application/json", JSON),  # q=0: not acceptable
        ("application/graphql-response+json;q=0", JSON),
        ("application/graphql-response+json;q=abc", JSON),
        ("application/graphql-response+json;q=nan", JSON),
        ("application/graphql-response+json;q=0.5, application/json;q=0", GRAPHQL_RESPONSE_JSON),
    ],
)
def test_the_accept_header_picks_the_media_type(accept, expected):
    assert response_media_type(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/*;q=0.3", JSON),
        ("text/html", None),
        ("text/html, application/xml;q=0.9", None),
        ("application/graphql-response+json;q=0", None),
        ("application/json;q=0, application/graphql-response+json;q=0", None),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE_JSON),  # application/json refused, the other one through */*
        ("application/graphql-response+json;q=0, */*", JSON),  # a listed type overrides the range
        ("*/*;q=0", None),
    ],
)
def test_an_accept_header_may_allow_neither_type(accept, expected):
    assert acceptable_media_type(accept) == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        (None, False),
        ("", False),
        ("text/plain;charset=UTF-8", False),  # what fetch() sends for a string body without a type
        ("application/x-www-form-urlencoded", False),
        ("application/graphql", False),
    ],
)
def test_a_post_body_is_read_only_when_declared_json(content_type, expected):
    assert is_json_body(content_type) is expected


UNAVAILABLE = {"message": 'Subgraph "assets" is unreachable.', "extensions": {"code": "SUBGRAPH_UNAVAILABLE", "service": "assets"}}
OTHER = {"message": "boom", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}


def test_application_json_keeps_every_status_as_it_was():
    for status, body in [(200, {"data": None, "errors": [UNAVAILABLE]}), (400, {"errors": [OTHER]}), (200, {"errors": [OTHER]})]:
        assert negotiated(JSON, status, body) == (status, {"content-type": JSON, "vary": "accept"})


def test_no_data_because_a_subgraph_is_unavailable_is_503_with_retry_after():
    status, headers = negotiated(GRAPHQL_RESPONSE_JSON, 200, {"data": None, "errors": [OTHER, UNAVAILABLE]})
    assert status == 503
    assert headers == {"content-type": "application/graphql-response+json; charset=utf-8", "vary": "accept", "retry-after": "1"}
    assert negotiated(GRAPHQL_RESPONSE_JSON, 200, {"errors": [UNAVAILABLE]})[0] == 503  # data absent


def test_partial_data_or_other_errors_stay_200():
    assert negotiated(GRAPHQL_RESPONSE_JSON, 200, {"data": {"asset": None}, "errors": [UNAVAILABLE]})[0] == 200
    assert negotiated(GRAPHQL_RESPONSE_JSON, 200, {"data": None, "errors": [OTHER]})[0] == 200
    assert negotiated(GRAPHQL_RESPONSE_JSON, 200, {"data": {"a": 1}})[0] == 200


def test_a_response_without_data_is_never_2xx():
    """What is 2xx without data under application/json (GraphQL request errors: parse,
    validation, variables; PERSISTED_QUERY_NOT_FOUND) becomes 400; other statuses and headers
    are kept."""
    not_found = {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    assert negotiated(GRAPHQL_RESPONSE_JSON, 200, not_found)[0] == 400
    assert negotiated(GRAPHQL_RESPONSE_JSON, 400, {"errors": [OTHER]})[0] == 400
    status, headers = negotiated(GRAPHQL_RESPONSE_JSON, 429, {"errors": [OTHER]}, {"retry-after": "3"})
    assert (status, headers["retry-after"]) == (429, "3")
    assert negotiated(GRAPHQL_RESPONSE_JSON, 500, {"errors": [OTHER]})[0] == 500
