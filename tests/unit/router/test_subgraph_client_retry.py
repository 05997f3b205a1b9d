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
