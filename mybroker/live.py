"""Live fan-out for GraphQL subscriptions: broadcaster's Broadcast over our own backends.

A process has one LiveHub: one Broadcast over one backend (Kafka on real infrastructure,
`live_kafka`; the in-memory bus embedded, `live_bus`), connected on first use, so one
consumer reads every live channel of the process. A LiveFeed is one channel of the hub.

Each subscriber has a bounded buffer that a pump task of its own fills from Broadcast's
queue: a slow subscriber loses its oldest messages (counted in `LiveFeed.dropped`), never
the server's memory, and never holds up the other subscribers."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, AsyncGenerator, Callable

from broadcaster import Broadcast, BroadcastBackend

from mybroker.bus import MessageBus
from mybroker.events import Envelope
from mybroker.live_bus import BusLiveBackend
from mybroker.live_event import envelope_of

if TYPE_CHECKING:
    from broadcaster._base import Subscriber

    from mybroker.settings import Settings

log = logging.getLogger("mybroker.live")

DEFAULT_CAPACITY = 256  # messages a subscriber may fall behind before it loses the oldest


def create_live_backend(settings: "Settings", bus: MessageBus) -> BroadcastBackend:
    """Kafka when the bus is the real brokers (same namespaced topics), else the bus itself."""
    if settings.bus == "brokers":
        from mybroker.live_kafka import KafkaLiveBackend  # lazy: aiokafka only on real infra

        return KafkaLiveBackend(settings.kafka_bootstrap, namespace=settings.channel_namespace)
    return BusLiveBackend(bus)


class LiveHub:
    """One Broadcast and its backend. Connects on the first subscription and disconnects
    when the last feed it made is closed."""

    def __init__(self, backend: BroadcastBackend):
        self.backend = backend
        self.broadcast = Broadcast(backend=backend)
        self._lock = asyncio.Lock()
        self._connected = False
        self._feeds: set[LiveFeed] = set()

    @classmethod
    def from_settings(cls, settings: "Settings", bus: MessageBus) -> "LiveHub":
        return cls(create_live_backend(settings, bus))

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def feeds(self) -> tuple["LiveFeed", ...]:
        """The open feeds (their `subscribers` and `dropped` are the numbers to report)."""
        return tuple(self._feeds)

    def feed(self, channel: str, *, capacity: int = DEFAULT_CAPACITY) -> "LiveFeed":
        return LiveFeed(self, channel, capacity=capacity)

    async def connect(self) -> Broadcast:
        async with self._lock:
            if not self._connected:
                await self.broadcast.connect()
                self._connected = True
        return self.broadcast

    async def close(self) -> None:
        async with self._lock:
            if not self._connected:
                return
            self._connected = False
            try:
                await self.broadcast.disconnect()
            except Exception:  # noqa: BLE001 - the listener's own failure, re-raised here
                log.exception("live broadcast listener had failed")
            await asyncio.sleep(0)  # let the cancelled listener task finish

    def _opened(self, feed: "LiveFeed") -> None:
        self._feeds.add(feed)
        if isinstance(self.backend, BusLiveBackend):
            self.backend.watch(feed.channel)

    async def _closed(self, feed: "LiveFeed") -> None:
        self._feeds.discard(feed)
        if not self._feeds:
            await self.close()


class _Buffer:
    """A subscriber's bounded queue: pushing into a full one drops the oldest message."""

    def __init__(self, capacity: int):
        self._items: deque[Envelope] = deque(maxlen=capacity)
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def push(self, message: Envelope) -> bool:
        """True when the oldest message was dropped to make room."""
        full = len(self._items) == self._items.maxlen
        self._items.append(message)
        self.dropped += full
        self._ready.set()
        return full

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    async def get(self) -> Envelope | None:
        """The oldest message, waiting for one; None once closed."""
        while not self._items:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return None if self._closed else self._items.popleft()


def _everything(_message: Envelope) -> bool:
    return True


class LiveFeed:
    """One channel's live messages. `source` is the process's LiveHub, or a bus as
    shorthand for a hub of this feed's own over that bus (tests, one-feed processes)."""

    def __init__(self, source: LiveHub | MessageBus, channel: str, *, capacity: int = DEFAULT_CAPACITY):
        if capacity < 1:
            raise ValueError("a live buffer holds at least one message")
        self.hub = source if isinstance(source, LiveHub) else LiveHub(BusLiveBackend(source))
        self.channel = channel
        self.capacity = capacity
        self.dropped = 0  # messages pushed out of slow subscribers' buffers, for metrics
        self._buffers: set[_Buffer] = set()
        self._closed = False
        self.hub._opened(self)

    @property
    def subscribers(self) -> int:
        return len(self._buffers)

    async def subscribe(self, accepts: Callable[[Envelope], bool] = _everything) -> AsyncGenerator[Envelope, None]:
        """Every message from now on that `accepts` takes, until the caller stops (close the
        generator: `contextlib.aclosing`) or the feed is closed."""
        if self._closed:
            return
        broadcast = await self.hub.connect()
        buffer = _Buffer(self.capacity)
        async with broadcast.subscribe(self.channel) as source:
            self._buffers.add(buffer)
            pump = asyncio.create_task(self._pump(source, buffer, accepts), name=f"live:{self.channel}")
            try:
                while (message := await buffer.get()) is not None:
                    yield message
            finally:
                self._buffers.discard(buffer)
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)

    async def _pump(self, source: "Subscriber", buffer: _Buffer, accepts: Callable[[Envelope], bool]) -> None:
        """Moves messages from Broadcast's (unbounded) queue to the bounded buffer at once."""
        try:
            async for event in source:  # type: ignore[union-attr]  # broadcaster types __aiter__ as Optional
                try:
                    message = envelope_of(event)  # type: ignore[arg-type]  # never None: the Subscriber ends instead
                    wanted = accepts(message)
                except Exception:  # noqa: BLE001 - one bad message must not end the subscription
                    log.warning("skipped a message on %s: not an Envelope, or the filter failed", self.channel, exc_info=True)
                    continue
                if wanted and buffer.push(message):
                    self.dropped += 1
                    if buffer.dropped == 1:  # once per subscriber: the count tells the rest
                        log.info("a subscriber of %s fell %d messages behind; dropping its oldest", self.channel, self.capacity)
        finally:
            buffer.close()

    async def close(self) -> None:
        """Ends every subscription of this feed; the hub disconnects after its last feed."""
        if self._closed:
            return
        self._closed = True
        for buffer in tuple(self._buffers):
            buffer.close()
        await self.hub._closed(self)
