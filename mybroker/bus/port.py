"""The message bus port: what every adapter implements and every user of the bus sees.

Semantics every adapter keeps (the in-memory one included):
- `publish` returns once the message is durably accepted (Kafka acks=all, RabbitMQ confirms).
- `publish_many` (optional; `publish_in_order` falls back to `publish` one by one) sends
  a run of messages without waiting for each confirmation before the next: the broker
  gets them in the run's order, and a failure reports how many of the first ones were
  confirmed (`PublishIncomplete`), so an outbox marks exactly those.
- Every consumer group receives every message of a channel, in publish order per key;
  within a group each message goes to one handler.
- At-least-once: a message is acknowledged only after its handler returns, so handlers
  must be idempotent (see mybroker.db.Transaction.first_time). A handler that keeps
  failing has its message dead-lettered after bounded retries; the flow continues."""
from __future__ import annotations

from typing import Awaitable, Callable, Protocol, Sequence

from mybroker.events import Envelope


Handler = Callable[[Envelope], Awaitable[None]]

# A channel's dead letters go to the channel's name plus this (b3.orders.dlq, ...).
DLQ_SUFFIX = ".dlq"

# One message to publish: (channel, message, key).
Outgoing = tuple[str, Envelope, "str | None"]


class PublishIncomplete(Exception):
    """A run of messages went out only in part: the first `confirmed` of them are durably
    accepted, the rest may or may not be (they are sent again, and consumers drop the
    duplicates). The broker's error is the `__cause__`."""

    def __init__(self, confirmed: int):
        super().__init__(f"{confirmed} message(s) confirmed before the failure")
        self.confirmed = confirmed


def confirmed_prefix(results: Sequence[object]) -> int:
    """How many leading results are not exceptions (gathered with return_exceptions)."""
    for index, result in enumerate(results):
        if isinstance(result, BaseException):
            return index
    return len(results)


async def publish_in_order(bus: "MessageBus", messages: Sequence[Outgoing]) -> None:
    """`bus.publish_many` where the bus pipelines, else one confirmed publish at a time;
    raises PublishIncomplete (from the broker's error) when not all went out."""
    many = getattr(bus, "publish_many", None)
    if many is not None:
        await many(messages)
        return
    for index, (channel, message, key) in enumerate(messages):
        try:
            await bus.publish(channel, message, key=key)
        except Exception as exc:
            raise PublishIncomplete(index) from exc


class MessageBus(Protocol):
    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None: ...

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
        """Register a consumer. A durable group resumes where it left off (committed
        offsets, durable queues); `from_live_edge` is for live fan-out (subscriptions):
        only messages published from now on, and nothing to resume later.

        `concurrency` > 1 (every adapter) lets up to that many messages be in the handler
        at once: each delivery starts in arrival order (its handler runs up to its first
        real suspension before the next one starts) and is acknowledged once its handler
        returns (on its own on RabbitMQ; on Kafka, whose offsets commit in order per
        partition, with the fetched batch it came in, mybroker.bus.kafka). Only for a
        handler that orders its work itself (b3-sim's group commit), or with `per_key`:
        then a delivery starts only once the previous message of the same key (the key it
        was published with) has been handled, retries included, so one key's messages are
        applied in publish order while different keys' run side by side (orders applies
        many orders' execution reports at once, each order's in sequence). 1 keeps one
        message at a time."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
