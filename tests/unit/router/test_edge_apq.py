"""Automatic persisted queries (Apollo's protocol), unit and over HTTP (POST and GET)."""
from __future__ import annotations

import hashlib

import orjson
import pytest

from router.errors import RequestError
from router.persisted_queries import PersistedQueries

from .edge_support import PREFLIGHTED, edge_router
from .test_router_http import codes, get, post

QUERY = "{ me { name } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()


def apq(digest: str = HASH, version=1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def refused(queries: PersistedQueries, query, extensions) -> RequestError:
    with pytest.raises(RequestError) as raised:
        queries.resolve(query, extensions)
    return raised.value


def test_register_then_run_by_hash():
    queries = PersistedQueries(10)
    error = refused(queries, None, apq())
    assert (error.code.value, error.message, error.status) == ("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200)
    assert queries.resolve(QUERY, apq()) == QUERY
    assert queries.resolve(None, apq()) == QUERY
    assert queries.resolve(None, apq(HASH.upper())) == QUERY  # hex digits in either case
    assert queries.resolve("{ plain }", None) == "{ plain }"
    assert queries.resolve("{ plain }", {"other": 1}) == "{ plain }"


def test_bad_apq_requests():
    queries = PersistedQueries(10)
    error = refused(queries, "{ me { id } }", apq())
    assert (error.code.value, error.message) == ("PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query")
    assert len(queries) == 0  # nothing stored under a wrong hash
    assert refused(queries, QUERY, apq(version=2)).code.value == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert refused(queries, QUERY, apq(digest="abc")).code.value == "BAD_USER_INPUT"
    assert refused(queries, QUERY, {"persistedQuery": "yes"}).code.value == "BAD_USER_INPUT"
    assert refused(queries, QUERY, ["not", "an", "object"]).code.value == "BAD_USER_INPUT"


def test_the_store_is_bounded():
    queries = PersistedQueries(2)
    texts = ["{ a }", "{ b }", "{ c }"]
    for text in texts:
        queries.resolve(text, apq(hashlib.sha256(text.encode()).hexdigest()))
    assert len(queries) == 2
    oldest = hashlib.sha256(b"{ a }").hexdigest()
    assert refused(queries, None, apq(oldest)).code.value == "PERSISTED_QUERY_NOT_FOUND"


def test_switched_off():
    queries = PersistedQueries(0)
    error = refused(queries, None, apq())
    assert (error.code.value, error.message) == ("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
    assert queries.resolve(QUERY, None) == QUERY


async def test_apq_round_trip_over_post_and_get(supergraph, store):
    async with edge_router(supergraph, store) as (url, _):
        status, body = await post(url, {"extensions": apq()})
        assert status == 200 and codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert body["errors"][0]["message"] == "PersistedQueryNotFound"
        status, body = await post(url, {"query": QUERY, "extensions": apq()})
        assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})
        status, body = await post(url, {"extensions": apq()})
        assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})
        status, body, _ = await get(url, {"extensions": orjson.dumps(apq()).decode()}, PREFLIGHTED)
        assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})
        status, body = await post(url, {"query": "{ me { id } }", "extensions": apq()})
        assert status == 400 and codes(body) == ["PERSISTED_QUERY_HASH_MISMATCH"]
        status, body, _ = await get(url, {"extensions": "{nope"}, PREFLIGHTED)
        assert status == 400 and codes(body) == ["BAD_USER_INPUT"]


async def test_get_registers_a_query_too(supergraph, store):
    async with edge_router(supergraph, store) as (url, _):
        status, body, _ = await get(url, {"query": QUERY, "extensions": orjson.dumps(apq()).decode()}, PREFLIGHTED)
        assert status == 200
        status, body = await post(url, {"extensions": apq()})
    assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})
