"""In-process bus for the embedded platform and unit tests: one FIFO per consumer group.

Messages are serialised on publish and decoded per delivery, exactly as over Kafka or
RabbitMQ, so no handler can share mutable state with a producer by accident."""
from __future__ import annotations

import asyncio
from collections import defaultdict

from mybroker.bus.port import Handler
from mybroker.bus.retry import deliver
from mybroker.bus.sequencer import KeySequencer
from mybroker.events import Envelope


class MemoryBus:
    def __init__(self, max_attempts: int = 5, retry_delay: float = 0.05):
        self._groups: dict[str, dict[str, list[Handler]]] = defaultdict(dict)
        # (key, message) per consumer group: the key orders deliveries of per_key groups.
        self._queues: dict[tuple[str, str], asyncio.Queue[tuple[str | None, bytes]]] = {}
        self._tasks: list[asyncio.Task] = []
        self._concurrency: dict[tuple[str, str], int] = {}
        self._sequencers: dict[tuple[str, str], KeySequencer] = {}  # the per_key groups
        self._in_flight: set[asyncio.Task] = set()  # deliveries of groups with concurrency > 1
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.dead_letters: list[tuple[str, str, Envelope, str]] = []
        self._running = False
        self._stopping = False

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
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        self._groups[channel].setdefault(group, []).append(handler)
        self._concurrency[(channel, group)] = max(concurrency, self._concurrency.get((channel, group), 1))
        if per_key:
            self._sequencers.setdefault((channel, group), KeySequencer())
        if (channel, group) in self._queues:
            return  # another handler of a group that has its worker (or will get one at start)
        self._queues[(channel, group)] = asyncio.Queue()
        if self._running:  # a new group on a running bus: its worker starts now
            self._start_worker(channel, group)

    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None:
        raw = message.to_bytes()
        for group in self._groups.get(channel, {}):
            self._queues[(channel, group)].put_nowait((key, raw))

    async def start(self) -> None:
        self._running = True
        for channel, group in self._queues:
            self._start_worker(channel, group)

    def _start_worker(self, channel: str, group: str) -> None:
        self._tasks.append(asyncio.create_task(self._consume(channel, group), name=f"bus:{channel}:{group}"))

    async def stop(self) -> None:
        self._stopping = True
        pending = set(self._tasks) | self._in_flight
        while pending:
            # Cancel again until they end: a handler's library may swallow one cancellation
            # (redis-py does) and send its worker back to queue.get().
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=0.5)
        self._tasks.clear()
        self._in_flight.clear()
        self._running = False
        self._stopping = False

    async def drain(self) -> None:
        """Wait until every queued message has been handled (tests)."""
        for queue in self._queues.values():
            await queue.join()

    async def _consume(self, channel: str, group: str) -> None:
        queue = self._queues[(channel, group)]
        concurrency = self._concurrency[(channel, group)]
        if concurrency == 1:
            while not self._stopping:
                _key, raw = await queue.get()
                await self._deliver(channel, group, queue, raw)
            return
        sequencer = self._sequencers.get((channel, group))
        slots = asyncio.Semaphore(concurrency)
        while not self._stopping:
            key, raw = await queue.get()
            await slots.acquire()
            # Tasks start in creation order, so deliveries start in arrival order.
            delivery = self._deliver(channel, group, queue, raw)
            task = asyncio.create_task(sequencer.run(key, delivery) if sequencer is not None else delivery)
            self._in_flight.add(task)
            task.add_done_callback(lambda done: (self._in_flight.discard(done), slots.release()))

    async def _deliver(self, channel: str, group: str, queue: asyncio.Queue, raw: bytes) -> None:
        try:
            message = Envelope.from_bytes(raw)
            failure = await deliver(
                self._groups[channel][group],
                message,
                where=f"{channel}/{group}",
                max_attempts=self.max_attempts,
                retry_delay=self.retry_delay,
            )
            if failure is not None:
                self.dead_letters.append((channel, group, message, repr(failure)))
        finally:
            queue.task_done()
