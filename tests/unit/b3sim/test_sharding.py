"""Sharding the exchange by ticker: a stable assignment, routing on the real bus, each
shard's own queue, group and journal database."""
from __future__ import annotations

import zlib

import pytest

from b3sim.app import create_service
from b3sim.sharding import Shard
from mybroker.bus.brokers import BrokerBus
from mybroker.bus.memory import MemoryBus
from mybroker.bus.sharding import parse_shard, shard_of, shard_queue
from mybroker.cache import MemoryCache
from mybroker.catalog import load_catalog
from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, Envelope
from mybroker.service import Infrastructure
from mybroker.settings import Settings


def test_the_assignment_is_a_stable_hash_and_fractional_tickers_follow_their_lot():
    assert shard_of("PETR4", 3) == zlib.crc32(b"PETR4") % 3 + 1
    assert [shard_of(t, 1) for t in ("PETR4", "VALE3")] == [1, 1]
    assert shard_of("PETR4F", 7) == shard_of("PETR4", 7)
    tickers = [entry.ticker for entry in load_catalog()]
    owned = [Shard(i, 3).owned(load_catalog()) for i in (1, 2, 3)]
    assert sorted(e.ticker for part in owned for e in part) == sorted(tickers), "every ticker in exactly one shard"
    assert all(owned), "the catalog spreads over all three"


def test_shard_names():
    assert shard_queue(EXCHANGE_ORDERS, 1, 1) == "b3.orders"
    assert shard_queue(EXCHANGE_ORDERS, 2, 3) == "b3.orders.shard-2-of-3"
    shard = Shard(2, 3)
    assert shard.orders_queue == "b3.orders.shard-2-of-3" and shard.group("b3-sim") == "b3-sim-shard-2-of-3"
    assert shard.journal_url("postgresql+asyncpg://u:p@h:5432/mybroker_b3sim") == "postgresql+asyncpg://u:p@h:5432/mybroker_b3sim_shard2of3"
    assert Shard().journal_url("sqlite+aiosqlite:///x/b3_sim.db") == "sqlite+aiosqlite:///x/b3_sim.db"
    with pytest.raises(ValueError):
        shard_queue(EXCHANGE_ORDERS, 4, 3)


def test_settings_read_the_shard_and_the_count():
    assert parse_shard("2/3") == (2, 3) and parse_shard("1") == (1, 1)
    for bad in ("0/2", "3/2", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)
    settings = Settings.from_env(env={"MYBROKER_B3SIM_SHARD": "2/3"})
    assert (settings.b3sim_shard, settings.b3sim_shards) == (2, 3)
    publisher = Settings.from_env(env={"MYBROKER_B3SIM_SHARDS": "3"})
    assert (publisher.b3sim_shard, publisher.b3sim_shards) == (1, 3)
    assert Settings.from_env(env={}).b3sim_shards == 1
    with pytest.raises(ValueError):
        Settings.from_env(env={"MYBROKER_B3SIM_SHARD": "2/3", "MYBROKER_B3SIM_SHARDS": "2"})


class Recording:
    def __init__(self, queues=()):
        self.queues = frozenset(queues)
        self.published: list[tuple[str, str | None]] = []

    async def publish(self, channel, message, key=None):
        self.published.append((channel, key))


async def test_the_real_bus_routes_orders_to_their_tickers_shard():
    kafka = Recording()
    rabbit = Recording({"ns.b3.orders.shard-1-of-2", "ns.b3.orders.shard-2-of-2", "ns.broker.executions"})
    bus = BrokerBus(kafka, rabbit, namespace="ns.", exchange_shards=2)
    for ticker in ("PETR4", "VALE3", "ITUB4"):
        await bus.publish(EXCHANGE_ORDERS, Envelope("NewOrder", {}), key=ticker)
    await bus.publish(EXECUTIONS, Envelope("ExecutionReport", {}), key="o1")
    assert rabbit.published == [
        *((f"ns.b3.orders.shard-{shard_of(t, 2)}-of-2", t) for t in ("PETR4", "VALE3", "ITUB4")),
        ("ns.broker.executions", "o1"),
    ]
    assert kafka.published == []
    with pytest.raises(ValueError):
        await bus.publish(EXCHANGE_ORDERS, Envelope("NewOrder", {}))  # no ticker, no shard


def test_the_embedded_mode_is_one_shard(tmp_path):
    settings = Settings(data_dir=tmp_path, b3sim_shard=1, b3sim_shards=2)
    with pytest.raises(ValueError, match="one shard"):
        create_service(Infrastructure(settings, MemoryBus(), MemoryCache()))
