"""The router's subgraph client sends a read again when its pooled connection dies without
an answer, and never sends a mutation twice."""
from __future__ import annotations

import pytest

from router.subgraph_client import HttpSubgraphClient, SubgraphUnavailable
from tests.support.closing_server import ClosingServer

pytestmark = pytest.mark.asyncio

ANSWER = {"data": {"asset": {"ticker": "PETR4"}}}


async def test_a_read_on_a_connection_the_subgraph_closed_is_sent_again():
    client = HttpSubgraphClient()
    async with ClosingServer(ANSWER) as server:
        try:
            query = {"query": "{asset(ticker:\"PETR4\"){ticker}}"}
            assert await client.fetch(server.url, query, {}) == ANSWER
            assert await client.fetch(server.url, query, {}) == ANSWER  # pooled connection dropped, sent again
        finally:
            await client.close()
    assert server.dropped == 1
    assert len(server.bodies) == 2


async def test_an_entity_fetch_is_a_read():
    client = HttpSubgraphClient()
    async with ClosingServer(ANSWER) as server:
        try:
            entities = {"query": "query($representations:[_Any!]!){_entities(representations:$representations){__typename}}"}
            await client.fetch(server.url, entities, {})
            assert await client.fetch(server.url, entities, {}) == ANSWER
        finally:
            await client.close()


async def test_a_mutation_is_never_sent_twice():
    client = HttpSubgraphClient()
    async with ClosingServer({"data": {"deposit": {"ok": True}}}) as server:
        try:
            mutation = {"query": "mutation{deposit(amount:\"10.00\"){ok}}"}
            await client.fetch(server.url, mutation, {})
            with pytest.raises(SubgraphUnavailable):
                await client.fetch(server.url, mutation, {})
        finally:
            await client.close()
    assert server.dropped == 1
    assert len(server.bodies) == 1


async def test_a_refused_connection_is_unavailable_at_once():
    client = HttpSubgraphClient()
    async with ClosingServer(ANSWER) as server:
        url = server.url
    try:
        with pytest.raises(SubgraphUnavailable, match="ClientConnectorError"):
            await client.fetch(url, {"query": "{a}"}, {})
    finally:
        await client.close()


async def test_a_subgraph_that_never_answers_times_out_at_the_clients_timeout():
    """MYBROKER_ROUTER_SUBGRAPH_TIMEOUT bounds each request (here 0.2 s): a subgraph that
    takes the request and never answers is a SubgraphTimeout, not a 30 s wait."""
    import asyncio
    import time

    from router.subgraph_client import SubgraphTimeout

    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = HttpSubgraphClient(timeout=0.2)
    started = time.perf_counter()
    try:
        with pytest.raises(SubgraphTimeout, match="0.2 s"):
            await client.fetch(f"http://127.0.0.1:{port}/graphql", {"query": "{a}"}, {})
    finally:
        await client.close()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert 0.2 <= time.perf_counter() - started < 1.0
