"""Which media type a /graphql answer is sent as, and the HTTP status that goes with it
(GraphQL over HTTP, "Body" and "Status Codes").

`application/json` is what this router always answered: a client gets it unless its Accept
header ranks `application/graphql-response+json` higher. With no Accept header, `*/*` or
neither type listed the answer stays `application/json` (the spec's legacy default, not
its post-2025 one: browsers' fetch sends `*/*`, and Apollo's persisted-query clients
expect PERSISTED_QUERY_NOT_FOUND with a 200). Its statuses are the router's as they were.

Under `application/graphql-response+json` a client can trust a non-2xx body to be ours, so:
a response without `data` is never 2xx (the spec's MUST: 400 unless it is already 4xx or
5xx), and one whose `data` is null or absent because a subgraph was unavailable
(SUBGRAPH_UNAVAILABLE) is 503 with `Retry-After`, so that clients, load balancers and
proxies back off and retry rather than read it as an answer. docs/design.md, "Availability"."""
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


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when `accept` lists it with a higher q than
    `application/json` gets (listed, or through `*/*` / `application/*`), or the same q and
    listed first; `application/json` otherwise."""
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
    if json is None:  # RFC 9110 12.5.1: a listed type overrides the ranges that cover it
        json = wildcard
    if graphql_response is None or graphql_response[0] <= 0:
        return JSON
    if json is None or json[0] < graphql_response[0] or (json[0] == graphql_response[0] and graphql_response[1] < json[1]):
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
