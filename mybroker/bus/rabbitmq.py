"""The message bus on RabbitMQ (aio-pika): the exchange's order and execution queues.

- A robust connection (aio-pika reconnects and re-declares); publishing waits for the
  broker's confirm, and messages are persistent on durable queues.
- Each queue is declared with a dead-letter exchange that routes to a durable
  `<queue>.dlq`: a message its handlers keep failing is rejected without requeue, so it
  is parked there, never dropped, and the queue moves on.
- A queue is one logical consumer: the group is informational. Each process consumes a
  queue on its own channel and handles one message at a time, in queue order (per-order
  ordering), acknowledging only after the handlers returned. With `concurrency=N` at
  subscribe, up to N messages are in the handlers at once: each starts in queue order (a
  task per delivery, created in arrival order) and is acknowledged alone when its
  handlers return; the handler keeps the order (b3-sim applies commands under a FIFO
  lock and acknowledges after its group commit)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Iterable, Sequence

import aio_pika
from aio_pika import DeliveryMode, ExchangeType, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from mybroker.bus.port import DLQ_SUFFIX, Handler, Outgoing, PublishIncomplete, confirmed_prefix
from mybroker.bus.retry import deliver
from mybroker.bus.sequencer import KeySequencer
from mybroker.outage_log import OutageLog
from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, Envelope

log = logging.getLogger("mybroker.bus.rabbitmq")

QUEUES = (EXCHANGE_ORDERS, EXECUTIONS)


class RabbitBus:
    def __init__(
        self,
        url: str,
        *,
        queues: Iterable[str] = QUEUES,
        prefetch: int = 32,
        max_attempts: int = 5,
        retry_delay: float = 0.2,
        dead_letter_exchange: str = "mybroker.dlx",
        stop_grace: float = 10.0,
    ):
        self.url = url
        self.queues = frozenset(queues)
        self.prefetch = prefetch
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.dead_letter_exchange = dead_letter_exchange
        self.stop_grace = stop_grace
        self.connection: AbstractRobustConnection | None = None
        self._publisher: AbstractChannel | None = None
        self._declared: set[str] = set()
        self._workers: dict[str, _QueueWorker] = {}
        self._lock = asyncio.Lock()
        self._running = False

    # -- MessageBus -------------------------------------------------------------------
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
        if from_live_edge:
            raise ValueError(f"{channel} is a queue: live-edge fan-out needs a Kafka topic")
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        worker = self._workers.get(channel)
        if worker is None:
            worker = self._workers[channel] = _QueueWorker(self, channel)
            if self._running:
                worker.task = asyncio.create_task(worker.run(), name=f"rabbitmq:{channel}")
        worker.handlers.append(handler)
        worker.concurrency = max(worker.concurrency, concurrency)
        if per_key and worker.sequencer is None:
            worker.sequencer = KeySequencer()

    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None:
        publisher = await self._ensure_publisher()
        await self._declared_queue(publisher, channel)
        await self._send(publisher, channel, message, key)

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Sends the run on the publisher channel without waiting for each confirm, then
        waits for all of them. Order holds: the queues are declared first, so no send
        suspends before it takes the channel's write lock, and tasks take it in the order
        they were created (aiormq writes each publish under that lock)."""
        publisher = await self._ensure_publisher()
        for channel in dict.fromkeys(channel for channel, _message, _key in messages):
            await self._declared_queue(publisher, channel)
        sends = [asyncio.ensure_future(self._send(publisher, channel, message, key)) for channel, message, key in messages]
        results = await asyncio.gather(*sends, return_exceptions=True)
        confirmed = confirmed_prefix(results)
        if confirmed < len(messages):
            raise PublishIncomplete(confirmed) from results[confirmed]

    async def _declared_queue(self, publisher: AbstractChannel, channel: str) -> None:
        if channel not in self._declared:  # never publish into a queue that does not exist yet
            await self.declare(publisher, channel)
            self._declared.add(channel)

    async def _send(self, publisher: AbstractChannel, channel: str, message: Envelope, key: str | None) -> None:
        headers: dict[str, Any] | None = {"x-key": key} if key is not None else None
        await publisher.default_exchange.publish(
            Message(
                message.to_bytes(),
                delivery_mode=DeliveryMode.PERSISTENT,
                message_id=message.id,
                type=message.type,
                content_type="application/json",
                headers=headers,
            ),
            routing_key=channel,
            mandatory=True,  # with on_return_raises: an unroutable message is an error, not a silent drop
        )

    async def start(self) -> None:
        publisher = await self._ensure_publisher()
        for name in sorted(self.queues | set(self._workers)):
            if name not in self._declared:
                await self.declare(publisher, name)
                self._declared.add(name)
        for worker in list(self._workers.values()):  # fail loudly at start if a consumer cannot connect
            await worker.open()
        self._running = True
        for name, worker in self._workers.items():  # a late subscriber opens in run()
            if worker.task is None:
                worker.task = asyncio.create_task(worker.run(), name=f"rabbitmq:{name}")

    async def stop(self) -> None:
        """Consumers first (each finishes and acks the message in hand), then the connection."""
        self._running = False
        await asyncio.gather(*(worker.stop(self.stop_grace) for worker in self._workers.values()))
        if self.connection is not None:
            await self.connection.close()
            self.connection = None
            self._publisher = None

    # -- helpers ----------------------------------------------------------------------
    async def declare(self, channel: AbstractChannel, name: str) -> AbstractQueue:
        """A durable queue whose rejected messages dead-letter to durable `<name>.dlq`."""
        if name.endswith(DLQ_SUFFIX):
            return await channel.declare_queue(name, durable=True)
        dlx = await channel.declare_exchange(self.dead_letter_exchange, ExchangeType.DIRECT, durable=True)
        dlq = await channel.declare_queue(name + DLQ_SUFFIX, durable=True)
        await dlq.bind(dlx, routing_key=name + DLQ_SUFFIX)
        return await channel.declare_queue(
            name,
            durable=True,
            arguments={"x-dead-letter-exchange": self.dead_letter_exchange, "x-dead-letter-routing-key": name + DLQ_SUFFIX},
        )

    async def _ensure_publisher(self) -> AbstractChannel:
        # Lazily, because outbox relays may start publishing before the bus is started.
        if self._publisher is None:
            async with self._lock:
                if self._publisher is None:
                    if self.connection is None:
                        self.connection = await aio_pika.connect_robust(self.url, client_properties={"connection_name": "mybroker"})
                    self._publisher = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        return self._publisher


class _QueueWorker:
    """One queue's consumer on its own channel (prefetch is per channel)."""

    def __init__(self, bus: RabbitBus, name: str):
        self.bus = bus
        self.name = name
        self.handlers: list[Handler] = []
        self.queue: AbstractQueue | None = None
        self.task: asyncio.Task | None = None
        self.busy = False
        self.stopping = False
        self.concurrency = 1
        self.sequencer: KeySequencer | None = None  # per_key: one key's messages one at a time
        self._in_flight: set[asyncio.Task] = set()  # deliveries being handled (concurrency > 1)

    async def open(self) -> None:
        await self.bus._ensure_publisher()  # opens the connection
        assert self.bus.connection is not None
        channel = await self.bus.connection.channel()
        await channel.set_qos(prefetch_count=max(self.bus.prefetch, self.concurrency))
        self.queue = await self.bus.declare(channel, self.name)

    async def run(self) -> None:
        outage = OutageLog(log, f"RabbitMQ consumer {self.name}")  # one line per outage
        while self.queue is None:  # subscribed after start: connect in the background
            try:
                await self.open()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep trying
                outage.failed(exc)
                await asyncio.sleep(1.0)
        outage.recovered()
        queue = self.queue
        try:
            async with queue.iterator() as messages:
                if self.concurrency > 1:
                    await self._run_concurrently(messages)
                    return
                async for incoming in messages:
                    self.busy = True
                    try:
                        await self._handle(incoming)
                    finally:
                        self.busy = False
                    if self.stopping:
                        break
        finally:
            if self._in_flight:  # stopping: let started deliveries settle before the channel goes
                await asyncio.wait(set(self._in_flight), timeout=self.bus.stop_grace)
                for task in self._in_flight:
                    task.cancel()
            await queue.channel.close()  # unacked prefetched messages go back to the queue

    async def _run_concurrently(self, messages) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        async for incoming in messages:
            if self.stopping:
                return  # not started: closing the channel requeues it
            await slots.acquire()
            # A task per delivery, created in arrival order: they start in that order.
            delivery = self._handle(incoming)
            if self.sequencer is not None:  # x-key: the key the message was published with
                delivery = self.sequencer.run((incoming.headers or {}).get("x-key"), delivery)
            task = asyncio.create_task(delivery, name=f"rabbitmq:{self.name}:{incoming.message_id}")
            self._in_flight.add(task)
            task.add_done_callback(lambda done: (self._in_flight.discard(done), slots.release()))

    async def _handle(self, incoming: AbstractIncomingMessage) -> None:
        where = f"{self.name} {incoming.message_id}"
        try:
            message = Envelope.from_bytes(incoming.body)
        except Exception as exc:  # noqa: BLE001 - undecodable: retrying cannot help
            log.error("undecodable message on %s: %r", where, exc)
            error: Exception | None = exc
        else:
            error = await deliver(
                self.handlers, message, where=where, max_attempts=self.bus.max_attempts, retry_delay=self.bus.retry_delay
            )
        try:
            if error is None:
                await incoming.ack()
            else:
                await incoming.reject(requeue=False)  # dead-letters it to <queue>.dlq
        except Exception as exc:  # noqa: BLE001 - channel lost: the broker redelivers, handlers are idempotent
            log.warning("cannot settle %s: %r", where, exc)

    async def stop(self, grace: float) -> None:
        self.stopping = True
        task = self.task
        if task is None:
            if self.queue is not None:
                await self.queue.channel.close()
            return
        # (With concurrency > 1, run() itself waits for the deliveries in hand when cancelled.)
        if self.busy:  # let the message in hand finish and be acked, within the grace period
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except (TimeoutError, Exception):  # noqa: BLE001
                pass
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
