"""The embedded live backend: broadcaster's Broadcast over our own MessageBus (in memory,
so `mybroker up` needs nothing but Python).

The first subscription of a channel registers one live-edge consumer group of this
backend on the bus; the bus has no unsubscribe, so a released channel stays registered
and its messages are dropped here until someone wants it again."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

from broadcaster import BroadcastBackend

from mybroker.bus import MessageBus
from mybroker.events import Envelope
from mybroker.live_event import LiveEvent, TopicRefs


class BusLiveBackend(BroadcastBackend):
    def __init__(self, bus: MessageBus) -> None:  # no super().__init__: it only raises
        self.bus = bus
        self.topics = TopicRefs()
        self._registered: set[str] = set()
        self._group = f"live-{uuid.uuid4().hex[:8]}"  # a group of its own: sees every message
        # Unbounded, but Broadcast's listener empties it at once into the subscribers' queues.
        self._events: asyncio.Queue[LiveEvent] = asyncio.Queue()

    async def connect(self) -> None:
        pass  # the bus is started and stopped by its owner

    async def disconnect(self) -> None:
        while not self._events.empty():
            self._events.get_nowait()

    # subscribe and unsubscribe never await: Broadcast.subscribe checks "first subscriber?"
    # around this call, and a switch to another task in between would lose a subscriber.
    async def subscribe(self, channel: str) -> None:
        self.topics.add(channel)
        self.watch(channel)

    def watch(self, channel: str) -> None:
        """Registers the channel's live group on the bus now: the hub calls this when a
        feed is made, while the bus is not started yet (as every other consumer)."""
        if channel not in self._registered:
            self._registered.add(channel)
            self.bus.subscribe(channel, self._group, self._forwarder(channel), from_live_edge=True)

    async def unsubscribe(self, channel: str) -> None:
        self.topics.remove(channel)

    async def publish(self, channel: str, message: Any) -> None:
        envelope = message if isinstance(message, Envelope) else Envelope.from_bytes(message)
        await self.bus.publish(channel, envelope)

    async def next_published(self) -> LiveEvent:
        return await self._events.get()

    def _forwarder(self, channel: str):
        async def forward(message: Envelope) -> None:
            if channel in self.topics:
                self._events.put_nowait(LiveEvent(channel, message.to_bytes().decode(), message))

        return forward
