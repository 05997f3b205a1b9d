"""The real bus: RabbitMQ for the exchange's queues, Kafka for every other channel."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from mybroker.bus import DLQ_SUFFIX, Handler, MessageBus
from mybroker.events import Envelope

if TYPE_CHECKING:
    from mybroker.settings import Settings


class BrokerBus:
    """Routes each channel to one of two buses. `queues` (default: the RabbitMQ bus's
    queues, i.e. b3.orders and broker.executions) names the channels that are RabbitMQ
    queues, their `.dlq` included; tests pass unique names.

    `namespace` prefixes every topic, queue and consumer group on the brokers, so that
    several platforms (test runs, staging beside production) can share one Kafka and one
    RabbitMQ without taking each other's messages or inheriting each other's backlog."""

    def __init__(
        self, kafka: MessageBus, rabbit: MessageBus, *, queues: Iterable[str] | None = None, namespace: str = ""
    ):
        self.kafka = kafka
        self.rabbit = rabbit
        self.namespace = namespace
        self.queues = frozenset(queues if queues is not None else getattr(rabbit, "queues"))

    @classmethod
    def from_settings(cls, settings: "Settings") -> "BrokerBus":
        # Imported here so the embedded default never loads aiokafka or aio-pika.
        from mybroker.bus.kafka import KafkaBus
        from mybroker.bus.rabbitmq import RabbitBus
        from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, MARKET_DATA, ORDER_EVENTS, WALLET_EVENTS

        ns = settings.channel_namespace
        kafka = KafkaBus(settings.kafka_bootstrap, topics=tuple(ns + t for t in (MARKET_DATA, ORDER_EVENTS, WALLET_EVENTS)))
        rabbit = RabbitBus(settings.rabbitmq_url, queues=tuple(ns + q for q in (EXCHANGE_ORDERS, EXECUTIONS)))
        return cls(kafka, rabbit, namespace=ns)

    def route(self, channel: str) -> MessageBus:
        """`channel` as named on the brokers (namespace included)."""
        base = channel[: -len(DLQ_SUFFIX)] if channel.endswith(DLQ_SUFFIX) else channel
        return self.rabbit if base in self.queues else self.kafka

    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None:
        named = self.namespace + channel
        await self.route(named).publish(named, message, key)

    def subscribe(self, channel: str, group: str, handler: Handler, *, from_live_edge: bool = False) -> None:
        named = self.namespace + channel
        self.route(named).subscribe(named, self.namespace + group, handler, from_live_edge=from_live_edge)

    async def start(self) -> None:
        await self.kafka.start()
        try:
            await self.rabbit.start()
        except BaseException:
            await self.kafka.stop()
            raise

    async def stop(self) -> None:
        try:
            await self.rabbit.stop()
        finally:
            await self.kafka.stop()
