"""BrokerBus routing and create_bus wiring, without any broker running."""
from __future__ import annotations

import subprocess
import sys

import pytest

from mybroker.bus import create_bus
from mybroker.bus.brokers import BrokerBus
from mybroker.bus.memory import MemoryBus
from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, MARKET_DATA, ORDER_EVENTS, WALLET_EVENTS, Envelope
from mybroker.settings import Settings


class _Rabbit(MemoryBus):
    queues = frozenset({EXCHANGE_ORDERS, EXECUTIONS})


def test_queues_go_to_rabbitmq_and_everything_else_to_kafka():
    kafka, rabbit = MemoryBus(), _Rabbit()
    bus = BrokerBus(kafka, rabbit)
    assert bus.route(EXCHANGE_ORDERS) is rabbit and bus.route(EXECUTIONS) is rabbit
    assert bus.route(EXECUTIONS + ".dlq") is rabbit
    for topic in (MARKET_DATA, ORDER_EVENTS, WALLET_EVENTS, MARKET_DATA + ".dlq", "anything-else"):
        assert bus.route(topic) is kafka
    assert BrokerBus(kafka, rabbit, queues={"q-test"}).route("q-test") is rabbit


async def test_publish_and_subscribe_follow_the_route():
    kafka, rabbit = MemoryBus(), _Rabbit()
    bus = BrokerBus(kafka, rabbit)
    seen: list[tuple[str, str]] = []

    async def record(channel: str, message: Envelope) -> None:
        seen.append((channel, message.type))

    bus.subscribe(EXCHANGE_ORDERS, "b3-sim", lambda m: record("rabbit", m))
    bus.subscribe(ORDER_EVENTS, "wallet", lambda m: record("kafka", m))
    assert set(rabbit._groups) == {EXCHANGE_ORDERS} and set(kafka._groups) == {ORDER_EVENTS}
    await bus.start()
    await bus.publish(EXCHANGE_ORDERS, Envelope("NewOrder", {}), key="PETR4")
    await bus.publish(ORDER_EVENTS, Envelope("OrderUpdated", {}), key="o1")
    await kafka.drain()
    await rabbit.drain()
    await bus.stop()
    assert sorted(seen) == [("kafka", "OrderUpdated"), ("rabbit", "NewOrder")]


async def test_a_namespace_prefixes_every_channel_and_group_on_the_brokers():
    kafka, rabbit = MemoryBus(), _Rabbit()
    rabbit.queues = frozenset({"run1." + EXCHANGE_ORDERS})
    bus = BrokerBus(kafka, rabbit, namespace="run1.")
    received = []
    bus.subscribe(EXCHANGE_ORDERS, "b3-sim", lambda m: _record(received, m))
    bus.subscribe(ORDER_EVENTS, "wallet", lambda m: _record(received, m))
    assert set(rabbit._groups) == {"run1." + EXCHANGE_ORDERS}
    assert kafka._groups["run1." + ORDER_EVENTS].keys() == {"run1.wallet"}
    await bus.start()
    await bus.publish(EXCHANGE_ORDERS, Envelope("NewOrder", {}))
    await bus.publish(ORDER_EVENTS, Envelope("OrderUpdated", {}))
    await kafka.drain()
    await rabbit.drain()
    await bus.stop()
    assert sorted(received) == ["NewOrder", "OrderUpdated"]


async def _record(target: list, message: Envelope) -> None:
    target.append(message.type)


def test_broker_bus_from_settings_names_namespaced_topics_and_queues():
    bus = BrokerBus.from_settings(Settings(bus="brokers", channel_namespace="e2e."))
    assert bus.route("e2e." + EXCHANGE_ORDERS) is bus.rabbit
    assert bus.route("e2e." + MARKET_DATA) is bus.kafka


def test_create_bus_builds_the_broker_bus_for_real_infra():
    bus = create_bus(Settings(bus="brokers", kafka_bootstrap="k:1", rabbitmq_url="amqp://u:p@r:2/"))
    assert isinstance(bus, BrokerBus)
    assert bus.kafka.bootstrap == "k:1" and bus.rabbit.url == "amqp://u:p@r:2/"


def test_the_embedded_default_never_imports_the_broker_clients():
    code = (
        "import sys; from mybroker.bus import create_bus; from mybroker.settings import Settings;"
        "create_bus(Settings()); import launch.platform;"
        "print(sorted(m for m in ('aiokafka', 'aio_pika', 'aiormq') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_deliver_retries_each_handler_a_bounded_number_of_times():
    from mybroker.bus.retry import deliver

    calls: list[str] = []

    async def flaky(message: Envelope) -> None:
        calls.append("flaky")
        if calls.count("flaky") < 2:
            raise RuntimeError("transient")

    async def broken(message: Envelope) -> None:
        calls.append("broken")
        raise ValueError("poison")

    ok = await deliver([flaky], Envelope("T", {}), where="t", max_attempts=3, retry_delay=0)
    assert ok is None and calls == ["flaky", "flaky"]
    calls.clear()
    error = await deliver([broken, flaky], Envelope("T", {}), where="t", max_attempts=3, retry_delay=0)
    assert isinstance(error, ValueError) and calls == ["broken"] * 3 + ["flaky"] * 2  # the next handler still runs


class _FailsAt(MemoryBus):
    """Takes the first `good` messages it is given, then fails every publish."""

    def __init__(self, good: int, queues=frozenset()):
        super().__init__()
        self.good = good
        self.queues = queues
        self.taken: list[int] = []

    async def publish(self, channel, message, key=None):
        if len(self.taken) == self.good:
            raise ConnectionError(f"{channel} went away")
        self.taken.append(message.data["n"])


async def test_a_pipelined_run_counts_as_confirmed_only_its_prefix_both_buses_took():
    """Kafka takes all of its share, RabbitMQ fails on its third message (position 6 of the
    run): what the relay may mark is positions 0-5, even though Kafka also took 7 and 8."""
    from mybroker.bus import PublishIncomplete, publish_in_order

    kafka, rabbit = _FailsAt(good=100), _FailsAt(good=2, queues=frozenset({EXCHANGE_ORDERS}))
    bus = BrokerBus(kafka, rabbit)
    run = [((ORDER_EVENTS, EXCHANGE_ORDERS)[n % 3 == 0], Envelope("T", {"n": n}), "PETR4") for n in range(9)]
    with pytest.raises(PublishIncomplete) as failed:
        await publish_in_order(bus, run)
    assert failed.value.confirmed == 6
    assert isinstance(failed.value.__cause__, ConnectionError)
    assert rabbit.taken == [0, 3] and kafka.taken == [1, 2, 4, 5, 7, 8]

    whole = BrokerBus(_FailsAt(good=100), _FailsAt(good=100, queues=frozenset({EXCHANGE_ORDERS})))
    await publish_in_order(whole, run)  # no failure: nothing raised
    assert whole.rabbit.taken == [0, 3, 6] and whole.kafka.taken == [1, 2, 4, 5, 7, 8]
