"""router/media.py: the media type a client's Accept header picks, and the status each
answer gets under it (GraphQL over HTTP, "Body" and "Status Codes")."""
from __future__ import annotations

import pytest

from router.media import GRAPHQL_RESPONSE_JSON, JSON, negotiated, response_media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),  # browsers' fetch, curl: what they always got
        ("application/json", JSON),
        ("text/html", JSON),  # nothing we serve: the spec lets us answer our choice
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
    """Request errors (parse, validation, variables) are 400 already; what was 2xx without
    data (PERSISTED_QUERY_NOT_FOUND) becomes 400; other statuses and headers are kept."""
    not_found = {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    assert negotiated(GRAPHQL_RESPONSE_JSON, 200, not_found)[0] == 400
    assert negotiated(GRAPHQL_RESPONSE_JSON, 400, {"errors": [OTHER]})[0] == 400
    status, headers = negotiated(GRAPHQL_RESPONSE_JSON, 429, {"errors": [OTHER]}, {"retry-after": "3"})
    assert (status, headers["retry-after"]) == (429, "3")
    assert negotiated(GRAPHQL_RESPONSE_JSON, 500, {"errors": [OTHER]})[0] == 500
