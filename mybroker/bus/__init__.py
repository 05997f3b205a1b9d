"""The message bus seam: Kafka topics and RabbitMQ queues behind one small interface
(the port, `mybroker.bus.port`, re-exported here), and the factory that picks an adapter.

The adapters import the port module, never this package's `__init__`, so the factory's
lazy imports of them make no cycle."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mybroker.bus.port import (
    DLQ_SUFFIX,
    Handler,
    MessageBus,
    Outgoing,
    PublishIncomplete,
    confirmed_prefix,
    publish_in_order,
)

if TYPE_CHECKING:
    from mybroker.settings import Settings

__all__ = ["DLQ_SUFFIX", "Handler", "MessageBus", "Outgoing", "PublishIncomplete", "confirmed_prefix", "create_bus", "publish_in_order"]


def create_bus(settings: "Settings") -> MessageBus:
    if settings.bus == "memory":
        from mybroker.bus.memory import MemoryBus

        return MemoryBus()
    if settings.bus == "brokers":
        from mybroker.bus.brokers import BrokerBus  # lazy: aiokafka and aio-pika only on real infra

        return BrokerBus.from_settings(settings)
    raise ValueError(f"unknown bus {settings.bus!r} (expected 'memory' or 'brokers')")
