"""Round trips on the real brokers: key order, duplicates dropped by the inbox, pipelined runs."""
from __future__ import annotations


import pytest

from mybroker.events import Envelope
from tests.integration.support import inbox_consumer, until

KINDS = ["kafka", "rabbitmq"]


@pytest.mark.parametrize("kind", KINDS)
async def test_round_trip_keeps_publish_order_per_key(kind, names, make_bus):
    channel = names.channel(kind)
    bus = make_bus()
    seen: list[tuple[str, int]] = []

    async def handler(message: Envelope) -> None:
        seen.append((message.data["key"], message.data["n"]))

    bus.subscribe(channel, names.group(), handler)
    await bus.start()
    keys = ["PETR4", "VALE3", "ITUB4"]
    for n in range(10):  # interleaved keys: Kafka spreads them over partitions
        for key in keys:
            await bus.publish(channel, Envelope("T", {"key": key, "n": n}), key=key)
    await until(lambda: len(seen) >= 30, what="30 deliveries")
    for key in keys:
        assert [n for k, n in seen if k == key] == list(range(10))
    assert len(seen) == 30


@pytest.mark.parametrize("kind", KINDS)
async def test_a_message_handed_over_twice_is_applied_once(kind, names, make_bus, tmp_path):
    channel = names.channel(kind)
    db, handler, deliveries, applied_rows = inbox_consumer(tmp_path, "consumer")
    await db.create_schema()
    bus = make_bus()
    bus.subscribe(channel, names.group(), handler)
    await bus.start()
    twice, after = Envelope("T", {"n": 1}), Envelope("T", {"n": 2})
    for message in (twice, twice, after):  # what a relay that crashed before marking does
        await bus.publish(channel, message, key="k")
    await until(lambda: len(deliveries) >= 3, what="3 deliveries")
    assert deliveries == [twice.id, twice.id, after.id]
    assert await applied_rows() == [(twice.id, 1), (after.id, 2)]
    await db.dispose()


async def test_kafka_refuses_a_live_edge_subscriber(make_bus):
    """Live fan-out on Kafka is mybroker.live_kafka's alone (tests/integration/test_live_kafka*)."""
    bus = make_bus()
    with pytest.raises(ValueError, match="live_kafka"):
        bus.kafka.subscribe("anything", "live", _append, from_live_edge=True)


async def _append(target: list, value) -> None:
    target.append(value)


async def test_a_pipelined_run_arrives_in_order_on_both_brokers(names, make_bus):
    """publish_many (what the outbox relay sends a batch with) keeps the run's order on each
    channel while Kafka's and RabbitMQ's shares go out side by side, with one key so that
    Kafka's order is the partition's order."""
    from mybroker.bus import publish_in_order

    topic, queue = names.channel("kafka"), names.channel("rabbitmq")
    bus = make_bus()
    seen: dict[str, list[int]] = {topic: [], queue: []}

    def recorder(channel: str):
        async def handler(message: Envelope) -> None:
            seen[channel].append(message.data["n"])

        return handler

    bus.subscribe(topic, names.group(), recorder(topic))
    bus.subscribe(queue, names.group(), recorder(queue))
    await bus.start()
    run = [((topic, queue)[n % 3 == 0], Envelope("T", {"n": n}), "PETR4") for n in range(600)]
    await publish_in_order(bus, run)
    await until(lambda: len(seen[topic]) + len(seen[queue]) >= 600, what="600 deliveries")
    assert seen[queue] == [n for n in range(600) if n % 3 == 0]
    assert seen[topic] == [n for n in range(600) if n % 3 != 0]
