"""Tests against the real engines and the deployment files (scripts/services.sh up
provides both): collected only when MYBROKER_INFRA=real, never skipped. .ci/run runs the
suite a second time with MYBROKER_INFRA=real, so in CI they always run, and a missing
engine fails them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Awaitable, Callable

import pytest
import pytest_asyncio

from tests.integration.support import unique

REAL = os.environ.get("MYBROKER_INFRA") == "real"

def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if not REAL and collection_path.name != "conftest.py":
        return True
    return None


@pytest.fixture(scope="session")
def settings():
    from mybroker.settings import Settings

    # No day roll: tests here count what b3-sim's journal holds, and a run across 18:00 in
    # Brasília must keep its DAY orders (tests/unit/b3sim/test_b3sim_day_roll.py rolls).
    return Settings.from_env().with_overrides(day_roll=False)


class Names:
    """A fresh Kafka topic and RabbitMQ queue per test, removed afterwards."""

    def __init__(self):
        self.topic = unique("it-topic")
        self.queue = unique("it.queue")
        self.groups: list[str] = []

    def channel(self, kind: str) -> str:
        return self.topic if kind == "kafka" else self.queue

    def group(self) -> str:
        name = unique("it-group")
        self.groups.append(name)
        return name


@pytest_asyncio.fixture
async def names(settings):
    created = Names()
    yield created
    await _cleanup(settings, created)


async def _cleanup(settings, created: Names) -> None:
    """Best effort: a failed cleanup must not fail the test it follows."""
    import aio_pika
    from aiokafka.admin import AIOKafkaAdminClient

    try:
        connection = await aio_pika.connect(settings.rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            for queue in (created.queue, created.queue + ".dlq"):
                await channel.queue_delete(queue)
    except Exception:  # noqa: BLE001
        pass
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            # Deleting the topics also drops the groups' offsets on them, and Kafka then
            # removes the empty groups itself; aiokafka has no call to delete groups.
            await admin.delete_topics([created.topic, created.topic + ".dlq"])
        finally:
            await admin.close()
    except Exception:  # noqa: BLE001
        pass


@pytest_asyncio.fixture
async def exchange(settings):
    """b3-sim as its own processes on the real engines, for its recovery, shard and group
    commit tests (tests/integration/b3sim_process.py): started by the test, its processes
    stopped and its journal databases and channels dropped afterwards."""
    from tests.integration.b3sim_process import Exchange

    deployment = Exchange(settings)
    yield deployment
    await deployment.close()


@pytest_asyncio.fixture
async def make_bus(settings, names) -> Callable[..., Awaitable]:
    """Builds started BrokerBus instances for this test's names (short retries), and stops
    whichever are still running at teardown."""
    from mybroker.bus.brokers import BrokerBus
    from mybroker.bus.kafka import KafkaBus
    from mybroker.bus.rabbitmq import RabbitBus

    buses: list[BrokerBus] = []

    def build(**options) -> BrokerBus:
        attempts = options.pop("max_attempts", 3)
        kafka = KafkaBus(
            settings.kafka_bootstrap,
            topics=(),
            max_attempts=attempts,
            retry_delay=0.02,
            session_timeout_ms=6_000,  # the broker's group.min.session.timeout.ms
            heartbeat_interval_ms=500,
            **options,
        )
        rabbit = RabbitBus(settings.rabbitmq_url, queues={names.queue}, max_attempts=attempts, retry_delay=0.02)
        bus = BrokerBus(kafka, rabbit)
        buses.append(bus)
        return bus

    yield build
    for bus in buses:
        await bus.stop()
