"""In-process fan-out of a channel to live subscribers (GraphQL subscriptions).

One consumer per process reads the channel from the live edge and copies each message to
every subscriber's bounded buffer. A slow subscriber loses its oldest messages (counted in
`dropped`), never the server's memory."""
from __future__ import annotations

import asyncio
import uuid
from collections import deque
from typing import AsyncIterator, Callable

from mybroker.bus import MessageBus
from mybroker.events import Envelope


class _Subscriber:
    def __init__(self, accepts: Callable[[Envelope], bool], capacity: int):
        self.accepts = accepts
        self.buffer: deque[Envelope] = deque(maxlen=capacity)
        self.ready = asyncio.Event()

    def offer(self, message: Envelope) -> bool:
        """Buffers the message if wanted; True when that pushed out the oldest one."""
        if not self.accepts(message):
            return False
        full = len(self.buffer) == self.buffer.maxlen
        self.buffer.append(message)
        self.ready.set()
        return full


class LiveFeed:
    def __init__(self, bus: MessageBus, channel: str, *, capacity: int = 256):
        self.capacity = capacity
        self._subscribers: set[_Subscriber] = set()
        self.dropped = 0  # messages pushed out of slow subscribers' buffers, for metrics
        # A group of its own per process: every process sees every message.
        bus.subscribe(channel, f"live-{uuid.uuid4().hex[:8]}", self._publish, from_live_edge=True)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def _publish(self, message: Envelope) -> None:
        for subscriber in tuple(self._subscribers):
            self.dropped += subscriber.offer(message)

    async def subscribe(self, accepts: Callable[[Envelope], bool] = lambda _m: True) -> AsyncIterator[Envelope]:
        subscriber = _Subscriber(accepts, self.capacity)
        self._subscribers.add(subscriber)
        try:
            while True:
                await subscriber.ready.wait()
                subscriber.ready.clear()
                while subscriber.buffer:
                    yield subscriber.buffer.popleft()
        finally:
            self._subscribers.discard(subscriber)
