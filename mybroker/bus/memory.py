"""In-process bus for the embedded platform and unit tests: one FIFO per consumer group.

Messages are serialised on publish and decoded per delivery, exactly as over Kafka or
RabbitMQ, so no handler can share mutable state with a producer by accident."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from mybroker.bus import Handler
from mybroker.events import Envelope

log = logging.getLogger("mybroker.bus")


class MemoryBus:
    def __init__(self, max_attempts: int = 5, retry_delay: float = 0.05):
        self._groups: dict[str, dict[str, list[Handler]]] = defaultdict(dict)
        self._queues: dict[tuple[str, str], asyncio.Queue[bytes]] = {}
        self._tasks: list[asyncio.Task] = []
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.dead_letters: list[tuple[str, str, Envelope, str]] = []
        self._stopping = False

    def subscribe(self, channel: str, group: str, handler: Handler, *, from_live_edge: bool = False) -> None:
        self._groups[channel].setdefault(group, []).append(handler)
        self._queues.setdefault((channel, group), asyncio.Queue())
        if self._tasks:  # already running: start this group's worker now
            self._tasks.append(asyncio.create_task(self._consume(channel, group), name=f"bus:{channel}:{group}"))

    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None:
        raw = message.to_bytes()
        for group in self._groups.get(channel, {}):
            self._queues[(channel, group)].put_nowait(raw)

    async def start(self) -> None:
        for channel, group in self._queues:
            self._tasks.append(asyncio.create_task(self._consume(channel, group), name=f"bus:{channel}:{group}"))

    async def stop(self) -> None:
        self._stopping = True
        pending = set(self._tasks)
        while pending:
            # Cancel again until they end: a handler's library may swallow one cancellation
            # (redis-py does) and send its worker back to queue.get().
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=0.5)
        self._tasks.clear()
        self._stopping = False

    async def drain(self) -> None:
        """Wait until every queued message has been handled (tests)."""
        for queue in self._queues.values():
            await queue.join()

    async def _consume(self, channel: str, group: str) -> None:
        queue = self._queues[(channel, group)]
        while not self._stopping:
            raw = await queue.get()
            try:
                message = Envelope.from_bytes(raw)
                for handler in self._groups[channel][group]:
                    await self._deliver(channel, group, handler, message)
            finally:
                queue.task_done()

    async def _deliver(self, channel: str, group: str, handler: Handler, message: Envelope) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await handler(message)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a consumer must survive any handler failure
                if attempt == self.max_attempts:
                    log.error("dead-lettered %s %s on %s/%s: %r", message.type, message.id, channel, group, exc)
                    self.dead_letters.append((channel, group, message, repr(exc)))
                    return
                log.warning("retrying %s %s on %s/%s (attempt %d): %r", message.type, message.id, channel, group, attempt, exc)
                await asyncio.sleep(self.retry_delay * attempt)
