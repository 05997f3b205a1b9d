"""The message bus seam: Kafka topics and RabbitMQ queues behind one small interface.

Semantics every adapter keeps (the in-memory one included):
- `publish` returns once the message is durably accepted (Kafka acks=all, RabbitMQ confirms).
- Every consumer group receives every message of a channel, in publish order per key;
  within a group each message goes to one handler.
- At-least-once: a message is acknowledged only after its handler returns, so handlers
  must be idempotent (see mybroker.db.Transaction.first_time). A handler that keeps
  failing has its message dead-lettered after bounded retries; the flow continues."""
from __future__ import annotations

from typing import Awaitable, Callable, Protocol

from mybroker.events import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class MessageBus(Protocol):
    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None: ...

    def subscribe(self, channel: str, group: str, handler: Handler) -> None:
        """Register a consumer; call before start()."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_bus(kind: str) -> MessageBus:
    if kind == "memory":
        from mybroker.bus.memory import MemoryBus

        return MemoryBus()
    raise ValueError(f"unknown bus {kind!r} (the embedded default is 'memory')")
