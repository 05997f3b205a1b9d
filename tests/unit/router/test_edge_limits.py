"""Operation limits at the edge: body size before parsing (413), lexical tokens while
parsing, depth, aliases and root fields before planning: all OPERATION_TOO_COMPLEX."""
from __future__ import annotations

import aiohttp
import pytest

from router.errors import RequestError
from router.executor import Executor
from router.limits import OperationLimits
from router.pipeline import RouterPipeline

from .edge_support import edge_router
from .router_fixture_subgraphs import SCHEMAS, url_of
from .test_router_http import codes, post


def pipeline_with(supergraph, client, **limits) -> RouterPipeline:
    executor = Executor(client, {name: url_of(name) for name in SCHEMAS})
    return RouterPipeline(supergraph, executor, limits=OperationLimits(**limits))


def too_complex(pipeline: RouterPipeline, query: str) -> str:
    with pytest.raises(RequestError) as raised:
        pipeline.prepare(query)
    assert raised.value.code.value == "OPERATION_TOO_COMPLEX", raised.value.message
    return raised.value.message


def test_token_limit_counts_lexical_tokens(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_tokens=12)
    # { me { name } } is 6 tokens: under the limit.
    assert pipeline.prepare("{ me { name } }").kind == "query"
    message = too_complex(pipeline, "{ me { name username id } topProducts { name upc } }")
    assert "12 tokens" in message


def test_token_limit_counts_comments_too(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_tokens=8)
    assert pipeline.prepare("#a\n#b\n{ me { name } }").kind == "query"  # 6 tokens, 2 comments
    too_complex(pipeline, "#c\n" * 10 + "{ me { name } }")  # 6 tokens, 10 comments


def test_a_syntax_error_under_the_token_limit_stays_a_parse_error(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_tokens=100)
    with pytest.raises(RequestError) as raised:
        pipeline.prepare("{ me { name ")
    assert raised.value.code.value == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(
    "limits, query, words",
    [
        ({"max_depth": 2}, "{ me { reviews { body } } }", "3 fields deep"),
        ({"max_aliases": 1}, "{ a: me { name } b: me { n: name } }", "3 aliases"),
        ({"max_root_fields": 2}, "{ me { name } topProducts { name } warehouseCount }", "3 root fields"),
        # fragments count where they are spread
        ({"max_root_fields": 1}, "{ ...F } fragment F on Query { me { name } warehouseCount }", "2 root fields"),
    ],
)
def test_depth_aliases_and_root_fields(supergraph, client, limits, query, words):
    assert words in too_complex(pipeline_with(supergraph, client, **limits), query)


def test_no_limit_when_none(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_depth=None, max_aliases=None, max_root_fields=None, max_tokens=None)
    deep = "{ me { reviews { author { reviews { author { reviews { author { name } } } } } } } }"
    assert pipeline.prepare(deep).kind == "query"


async def test_a_large_body_is_refused_with_413_before_parsing(supergraph, store):
    async with edge_router(supergraph, store, limits=OperationLimits(max_body_bytes=200)) as (url, _):
        status, body = await post(url, {"query": "{ me { name } }"})
        assert status == 200 and body == {"data": {"me": {"name": "Ada Lovelace"}}}
        padded = {"query": "{ me { name } }", "variables": {"pad": "x" * 300}}
        status, body = await post(url, padded)
        assert status == 413
        assert codes(body) == ["OPERATION_TOO_COMPLEX"]
        assert "200 bytes" in body["errors"][0]["message"] and "data" not in body
        # Not valid JSON either: refused for its size, so it was never parsed.
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/graphql", data=b"{" * 500, headers={"content-type": "application/json"}) as response:
                assert response.status == 413
                assert codes(await response.json()) == ["OPERATION_TOO_COMPLEX"]


async def test_a_chunked_body_is_cut_off_at_the_limit(supergraph, store):
    async def chunks():
        for _ in range(10):
            yield b'{"query": "' + b" " * 50

    async with edge_router(supergraph, store, limits=OperationLimits(max_body_bytes=200)) as (url, _):
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/graphql", data=chunks(), headers={"content-type": "application/json"}) as response:
                assert "content-length" not in response.request_info.headers
                assert response.status == 413
                assert codes(await response.json()) == ["OPERATION_TOO_COMPLEX"]


async def test_token_limit_over_http(supergraph, store):
    async with edge_router(supergraph, store, limits=OperationLimits(max_tokens=10)) as (url, _):
        status, body = await post(url, {"query": "{ me { name username } topProducts { name upc } }"})
    assert status == 400 and codes(body) == ["OPERATION_TOO_COMPLEX"]


def fragment_bomb(levels: int, base: str = "name") -> str:
    """`levels` fragments, each spreading the one below twice: 2**levels copies of `base`."""
    fragments = [f"fragment F0 on User {{ {base} }}"]
    fragments += [f"fragment F{i} on User {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"{{ me {{ ...F{levels} }} }} " + " ".join(fragments)


def test_fields_are_counted_with_fragments_inlined(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_fields=5)
    assert pipeline.prepare(fragment_bomb(2)).kind == "query"  # me + 4 names
    assert "9 fields once its fragments are inlined; the limit is 5" in too_complex(pipeline, fragment_bomb(2, "name id"))


def test_a_fragment_bomb_is_refused_before_validation_or_inlining(supergraph, client):
    """60 levels would be 2**60 fields: inlining it would never end, and counting it must
    not either (each fragment is counted once). The default limit refuses it."""
    message = too_complex(pipeline_with(supergraph, client), fragment_bomb(60))
    assert str(2**60 + 1) in message and "limit is 10000" in message


def test_unknown_fragments_and_cycles_are_left_to_validation(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_fields=100)
    for query in ("{ me { ...Missing } }", "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }"):
        with pytest.raises(RequestError) as raised:
            pipeline.prepare(query)
        assert raised.value.code.value == "GRAPHQL_VALIDATION_FAILED"
