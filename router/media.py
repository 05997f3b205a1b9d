"""Which media type a /graphql answer is sent as, and the HTTP status that goes with it
(GraphQL over HTTP, "Accept", "Body" and "Status Codes").

`application/json` is what this router always answered: a client gets it unless its Accept
header ranks `application/graphql-response+json` higher. With no Accept header or `*/*` the
answer stays `application/json` (the spec's legacy default, not its post-2025 one: browsers'
fetch sends `*/*`, and Apollo's persisted-query clients expect PERSISTED_QUERY_NOT_FOUND
with a 200). An Accept header that allows neither type (`text/html` alone, or both at q=0)
is answered 406 (router/stages.py, AcceptStage) rather than with a type the client refused.

Under `application/json` a well-formed request is answered 200 whatever GraphQL errors it
carries: a document that does not parse or validate and variables that do not coerce are
GraphQL request errors, 200 with `errors` and no `data` (the spec's SHOULD; their
RequestError status is GRAPHQL_REQUEST_ERROR_STATUS). A request the router cannot read (no
query, a body that is not JSON) and its own refusals (CSRF, sizes and limits, credentials,
rate limits) keep their 4xx.

Under `application/graphql-response+json` a client can trust a non-2xx body to be ours, so:
a response without `data` is never 2xx (the spec's MUST: 400 unless it is already 4xx or
5xx, which makes every GraphQL request error a 400), and one whose `data` is null or absent
because a subgraph was unavailable (SUBGRAPH_UNAVAILABLE) is 503 with `Retry-After`, so that
clients, load balancers and proxies back off and retry rather than read it as an answer.
docs/design.md, "Availability"."""
from __future__ import annotations

from typing import Any, Mapping

from router.errors import RouterErrorCode

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# The spec asks servers to name the encoding; JSON is UTF-8 by definition, so
# `application/json` keeps the bare type it always had.
_CONTENT_TYPES = {JSON: JSON, GRAPHQL_RESPONSE_JSON: f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"}
_WILDCARDS = ("*/*", "application/*")
# Seconds a client should wait before sending an operation again after a 503: the subgraph
# timeouts are seconds long, and a restarting subgraph is back within about one.
RETRY_AFTER_SECONDS = 1


def is_json_body(content_type: str | None) -> bool:
    """Whether a POST body is declared `application/json` (any parameters: the charset is
    UTF-8 whatever it says, JSON has no other)."""
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == JSON


def response_media_type(accept: str | None) -> str:
    """The media type an answer is sent as: `acceptable_media_type`'s choice, and
    `application/json` for an answer to a client that accepts neither (its 406 among them)."""
    return acceptable_media_type(accept) or JSON


def acceptable_media_type(accept: str | None) -> str | None:
    """`application/graphql-response+json` when `accept` gives it a higher q than
    `application/json` (each listed, or through `*/*` / `application/*`), or the same q and
    it is listed before; `application/json` when that one is acceptable; None when neither
    is (no q above 0)."""
    if not accept:
        return JSON
    graphql_response: tuple[float, int] | None = None  # (q, position)
    json: tuple[float, int] | None = None
    wildcard: tuple[float, int] | None = None
    for position, item in enumerate(accept.split(",")):
        media, _, parameters = item.partition(";")
        media = media.strip().lower()
        rank = (_quality(parameters), position)
        if media == GRAPHQL_RESPONSE_JSON:
            graphql_response = _better(graphql_response, rank)
        elif media == JSON:
            json = _better(json, rank)
        elif media in _WILDCARDS:
            wildcard = _better(wildcard, rank)
    # RFC 9110 12.5.1: a listed type overrides the ranges that cover it. A range that
    # covers both ranks them alike, and then application/json, the legacy type, wins.
    listed = graphql_response is not None
    json = json if json is not None else wildcard
    graphql_response = graphql_response if graphql_response is not None else wildcard
    json_q = json[0] if json is not None else 0.0
    graphql_q = graphql_response[0] if graphql_response is not None else 0.0
    if json_q <= 0 and graphql_q <= 0:
        return None
    if graphql_q > json_q:
        return GRAPHQL_RESPONSE_JSON
    if graphql_q == json_q and listed and json is not None and graphql_response is not None and graphql_response[1] < json[1]:
        return GRAPHQL_RESPONSE_JSON
    return JSON


def negotiated(
    media_type: str, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    """The status and headers (Content-Type, Vary, Retry-After beside `headers`) for `body`
    sent as `media_type`."""
    out = dict(headers or {})
    out["content-type"] = _CONTENT_TYPES[media_type]
    out["vary"] = "accept"  # the same URL answers differently per Accept: caches must know
    if media_type != GRAPHQL_RESPONSE_JSON:
        return status, out
    if body.get("data") is None and _has_code(body, RouterErrorCode.SUBGRAPH_UNAVAILABLE):
        out.setdefault("retry-after", str(RETRY_AFTER_SECONDS))
        return 503, out
    if "data" not in body and status < 400:  # a request error (e.g. PERSISTED_QUERY_NOT_FOUND's 200)
        return 400, out
    return status, out


def _has_code(body: Mapping[str, Any], code: RouterErrorCode) -> bool:
    for error in body.get("errors") or ():
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict) and extensions.get("code") == code.value:
            return True
    return False


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0  # an unreadable weight: as if not acceptable
            return min(max(quality, 0.0), 1.0) if quality == quality else 0.0  # NaN: not acceptable
    return 1.0


def _better(current: tuple[float, int] | None, candidate: tuple[float, int]) -> tuple[float, int]:
    """A type listed twice counts at its highest q (first position among equals)."""
    if current is None or candidate[0] > current[0]:
        return candidate
    return current
