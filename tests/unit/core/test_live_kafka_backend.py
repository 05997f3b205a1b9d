"""KafkaLiveBackend without a broker: topic references, namespacing, reconnection backoff.
Its behaviour on a real Kafka is in tests/integration/test_live_kafka.py."""
from __future__ import annotations

import asyncio
import logging
import re

from aiokafka import TopicPartition

from mybroker.live_kafka import KafkaLiveBackend

UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1: every connection is refused


async def test_topics_are_namespaced_and_counted_by_reference():
    backend = KafkaLiveBackend(UNREACHABLE, namespace="run1.")
    await backend.subscribe("quotes")
    await backend.subscribe("quotes")
    await backend.subscribe("orders")
    assert backend.topics.names() == {"run1.quotes", "run1.orders"}
    await backend.unsubscribe("quotes")
    assert "run1.quotes" in backend.topics  # one subscription still wants it
    await backend.unsubscribe("quotes")
    await backend.unsubscribe("orders")
    assert not backend.topics


async def test_a_topic_wanted_again_starts_from_now_not_where_it_was_left():
    backend = KafkaLiveBackend(UNREACHABLE)
    await backend.subscribe("quotes")
    backend._next_offset = {TopicPartition("quotes", 0): 42, TopicPartition("orders", 0): 7}
    await backend.unsubscribe("quotes")
    await backend.subscribe("quotes")
    assert backend._next_offset == {TopicPartition("orders", 0): 7}


async def test_an_unreachable_broker_is_retried_with_a_growing_backoff_and_disconnect_leaves_nothing(caplog):
    backend = KafkaLiveBackend(UNREACHABLE, backoff_initial=0.01, backoff_max=0.04)
    caplog.set_level(logging.DEBUG, logger="mybroker.live.kafka")
    await backend.connect()
    await backend.subscribe("quotes")
    deadline = asyncio.get_running_loop().time() + 10
    while backend.failures < 5:
        assert asyncio.get_running_loop().time() < deadline, "the backend stopped retrying"
        await asyncio.sleep(0.01)
    delays = [float(m) for m in re.findall(r"reconnecting in ([0-9.]+)s", caplog.text)]
    assert delays[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]  # doubling, capped
    # Each retry is a DEBUG line; the outage itself one ERROR line (mybroker/outage_log.py).
    loud = [r for r in caplog.records if r.name == "mybroker.live.kafka" and r.levelno >= logging.WARNING]
    assert len(loud) == 1 and "live Kafka consumer failed" in loud[0].getMessage()
    assert backend.sessions == 0 and backend.consumer is None
    await backend.disconnect()
    assert backend._task is None
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("live:")]
