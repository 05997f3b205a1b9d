"""CSRF prevention: simple requests (GET, or POST with no or a form/text content type) run
only with a preflight-proving header; JSON POSTs and the GraphiQL page always pass."""
from __future__ import annotations

import aiohttp
import pytest
from starlette.datastructures import Headers

from router.csrf import CsrfPolicy, csrf_refusal

from .edge_support import PREFLIGHTED, edge_router
from .test_router_http import codes, get


@pytest.mark.parametrize(
    "headers, refused",
    [
        ({}, True),
        ({"content-type": "text/plain"}, True),
        ({"content-type": "text/plain; charset=utf-8"}, True),
        ({"content-type": "application/x-www-form-urlencoded"}, True),
        ({"content-type": "Multipart/Form-Data; boundary=x"}, True),
        ({"content-type": ""}, True),
        ({"content-type": "application/json"}, False),
        ({"content-type": "application/graphql-response+json"}, False),
        ({"content-type": "not a mime type"}, False),  # a browser cannot send it unpreflighted
        ({"apollo-require-preflight": "true"}, False),
        ({"X-Apollo-Operation-Name": "Quotes"}, False),
        ({"content-type": "text/plain", "apollo-require-preflight": "1"}, False),
        ({"apollo-require-preflight": ""}, True),  # must be non-empty
        ({"x-some-other-header": "1"}, True),
    ],
)
def test_which_requests_are_refused(headers, refused):
    assert (csrf_refusal(Headers(headers), CsrfPolicy()) is not None) is refused


def test_configured_headers_and_switching_off():
    custom = CsrfPolicy(required_headers=("x-my-client",))
    assert csrf_refusal(Headers({"x-my-client": "web"}), custom) is None
    assert csrf_refusal(Headers({"apollo-require-preflight": "true"}), custom) is not None
    assert "x-my-client" in csrf_refusal(Headers({}), custom)
    assert csrf_refusal(Headers({}), CsrfPolicy(enabled=False)) is None


async def test_simple_requests_are_refused_over_http(supergraph, store):
    query = {"query": "{ me { name } }"}
    async with edge_router(supergraph, store) as (url, _):
        status, body, _ = await get(url, query)
        assert status == 400 and codes(body) == ["BAD_USER_INPUT"]
        assert "Cross-Site Request Forgery" in body["errors"][0]["message"] and "data" not in body
        status, body, _ = await get(url, query, PREFLIGHTED)
        assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})
        async with aiohttp.ClientSession() as session:
            form = {"content-type": "text/plain"}
            async with session.post(url + "/graphql", data=b'{"query": "{ me { name } }"}', headers=form) as response:
                assert response.status == 400 and "CSRF" in (await response.json())["errors"][0]["message"]
            # Past CSRF with the header, a body not declared JSON is still not read (415).
            async with session.post(url + "/graphql", data=b'{"query": "{ me { name } }"}', headers={**form, **PREFLIGHTED}) as response:
                assert response.status == 415 and codes(await response.json()) == ["BAD_USER_INPUT"]
            async with session.post(url + "/graphql", json=query) as response:  # application/json
                assert response.status == 200
        # The GraphiQL page is a plain navigation: never refused.
        status, page, _ = await get(url, {}, {"accept": "text/html"})
        assert status == 200 and "graphiql" in page.lower()


async def test_csrf_prevention_switched_off(supergraph, store):
    async with edge_router(supergraph, store, csrf=CsrfPolicy(enabled=False)) as (url, _):
        status, body, _ = await get(url, {"query": "{ me { name } }"})
    assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})
