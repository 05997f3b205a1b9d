"""The real bus: RabbitMQ for the exchange's queues, Kafka for every other channel."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Iterable, Sequence

from mybroker.bus.port import DLQ_SUFFIX, Handler, MessageBus, Outgoing, PublishIncomplete, publish_in_order
from mybroker.bus.sharding import shard_of, shard_queue
from mybroker.events import EXCHANGE_ORDERS, Envelope

if TYPE_CHECKING:
    from mybroker.settings import Settings


class BrokerBus:
    """Routes each channel to one of two buses. `queues` (default: the RabbitMQ bus's
    queues, i.e. b3.orders and broker.executions) names the channels that are RabbitMQ
    queues, their `.dlq` included; tests pass unique names.

    `namespace` prefixes every topic, queue and consumer group on the brokers, so that
    several platforms (test runs, staging beside production) can share one Kafka and one
    RabbitMQ without taking each other's messages or inheriting each other's backlog.

    `exchange_shards` > 1 shards the exchange by ticker: a `b3.orders` message goes to the
    queue of its key's shard (`b3.orders.shard-2-of-3`, mybroker.bus.sharding), which that
    shard's b3-sim process consumes by subscribing to the shard queue by name."""

    def __init__(
        self,
        kafka: MessageBus,
        rabbit: MessageBus,
        *,
        queues: Iterable[str] | None = None,
        namespace: str = "",
        exchange_shards: int = 1,
    ):
        self.kafka = kafka
        self.rabbit = rabbit
        self.namespace = namespace
        # Any MessageBus may stand in for RabbitMQ in tests; only RabbitMQ names its queues.
        self.queues = frozenset(queues if queues is not None else getattr(rabbit, "queues"))  # noqa: B009
        self.exchange_shards = exchange_shards

    @classmethod
    def from_settings(cls, settings: "Settings") -> "BrokerBus":
        # Imported here so the embedded default never loads aiokafka or aio-pika.
        from mybroker.bus.kafka import KafkaBus
        from mybroker.bus.rabbitmq import RabbitBus
        from mybroker.bus.sharding import shard_queue
        from mybroker.events import (
            EXCHANGE_BOOKS,
            EXCHANGE_ORDERS,
            EXCHANGE_TRADES,
            EXECUTIONS,
            IDENTITY_MAIL,
            MARKET_DATA,
            ORDER_EVENTS,
            WALLET_EVENTS,
        )

        ns = settings.channel_namespace
        topics = (MARKET_DATA, ORDER_EVENTS, WALLET_EVENTS, EXCHANGE_TRADES, EXCHANGE_BOOKS, IDENTITY_MAIL)
        kafka = KafkaBus(settings.kafka_bootstrap, topics=tuple(ns + t for t in topics))
        shards = settings.b3sim_shards
        orders = [shard_queue(EXCHANGE_ORDERS, shard, shards) for shard in range(1, shards + 1)]
        rabbit = RabbitBus(settings.rabbitmq_url, queues=tuple(ns + q for q in (*orders, EXECUTIONS)))
        return cls(kafka, rabbit, namespace=ns, exchange_shards=shards)

    def route(self, channel: str) -> MessageBus:
        """`channel` as named on the brokers (namespace included)."""
        base = channel[: -len(DLQ_SUFFIX)] if channel.endswith(DLQ_SUFFIX) else channel
        return self.rabbit if base in self.queues else self.kafka

    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None:
        named = self.on_brokers(channel, key)
        await self.route(named).publish(named, message, key)

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Each bus's share of the run is pipelined, the two side by side; what counts as
        confirmed is the run's longest prefix both buses confirmed. Order is kept per
        channel, which is all a consumer can observe: channels are consumed apart."""
        named = [(self.on_brokers(channel, key), message, key) for channel, message, key in messages]
        shares: dict[MessageBus, list[int]] = {}  # each bus's positions in the run
        for position, (channel, _message, _key) in enumerate(named):
            shares.setdefault(self.route(channel), []).append(position)
        outcomes = await asyncio.gather(
            *(publish_in_order(bus, [named[p] for p in positions]) for bus, positions in shares.items()),
            return_exceptions=True,
        )
        confirmed, cause = len(messages), None
        for positions, outcome in zip(shares.values(), outcomes):
            if isinstance(outcome, PublishIncomplete):
                if positions[outcome.confirmed] < confirmed:
                    confirmed, cause = positions[outcome.confirmed], outcome.__cause__
            elif isinstance(outcome, BaseException):
                raise outcome
        if cause is not None or confirmed < len(messages):
            raise PublishIncomplete(confirmed) from cause

    def on_brokers(self, channel: str, key: str | None) -> str:
        """The channel's name on the brokers: its shard queue if sharded, namespaced."""
        if self.exchange_shards > 1 and channel == EXCHANGE_ORDERS:
            if key is None:
                raise ValueError(f"{channel} is sharded by ticker: publish it with the ticker as key")
            channel = shard_queue(channel, shard_of(key, self.exchange_shards), self.exchange_shards)
        return self.namespace + channel

    def subscribe(
        self,
        channel: str,
        group: str,
        handler: Handler,
        *,
        from_live_edge: bool = False,
        concurrency: int = 1,
        per_key: bool = False,
    ) -> None:
        named = self.namespace + channel
        self.route(named).subscribe(
            named, self.namespace + group, handler, from_live_edge=from_live_edge, concurrency=concurrency, per_key=per_key
        )

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
