"""Fan-out of one resolved event to every identical client subscription.

Client subscriptions with the same operation text, operation name, variables and caller
(the caller is in the upstream's headers) form one `SharedSubscription`: a single task
listens to the upstream, completes each event through the rest of the query plan once
(entity fetches once), and hands the same `SharedResult` to every member with a plain
method call. Nothing here awaits a client: each member (a `Sink`) only queues what it is
given, and its transport writes it from a task of its own, so a slow client never delays
the others nor the next event.

Each result is serialised once (`SharedResult.json`) and framed once per transport (SSE,
multipart); the graphql-transport-ws `next` message only splices the client's own
subscription id in front of those bytes."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from typing import Any, Awaitable, Callable, Hashable, Protocol

import orjson

from router.errors import RouterErrorCode

log = logging.getLogger("router.subscriptions")


class SharedResult:
    """One execution result, shared by every member; its serialisations are computed
    on first use and reused by every client of the same transport."""

    __slots__ = ("result", "_json", "_text", "_sse", "_multipart")

    def __init__(self, result: dict[str, Any]):
        self.result = result
        self._json: bytes | None = None
        self._text: str | None = None
        self._sse: bytes | None = None
        self._multipart: bytes | None = None

    @property
    def json(self) -> bytes:
        if self._json is None:
            self._json = orjson.dumps(self.result)
        return self._json

    def ws_next(self, quoted_id: str) -> str:
        """The graphql-transport-ws `next` message for the subscription whose id, already
        a JSON string, is `quoted_id` (ASGI text frames are str: decoded once too)."""
        if self._text is None:
            self._text = self.json.decode()
        return '{"id":' + quoted_id + ',"type":"next","payload":' + self._text + "}"

    @property
    def sse(self) -> bytes:
        if self._sse is None:
            self._sse = b"event: next\ndata: " + self.json + b"\n\n"
        return self._sse

    @property
    def multipart(self) -> bytes:
        if self._multipart is None:
            self._multipart = b'{"payload":' + self.json + b"}"
        return self._multipart


class Sink(Protocol):
    """A member of a shared subscription. Called from the shared task: must not block."""

    def next(self, shared: SharedResult) -> None: ...

    def error(self, errors: list[dict[str, Any]]) -> None: ...

    def complete(self) -> None: ...


class Mailbox:
    """A Sink read by one async consumer (the SSE and multipart streams, tests): a
    bounded queue that loses its oldest results, never its ending, when the reader lags."""

    def __init__(self, capacity: int):
        self._items: deque[tuple[str, Any]] = deque()
        self._capacity = capacity
        self._ready = asyncio.Event()
        self.dropped = 0

    def _put(self, item: tuple[str, Any]) -> None:
        if item[0] == "next" and len(self._items) >= self._capacity and self._items[0][0] == "next":
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def next(self, shared: SharedResult) -> None:
        self._put(("next", shared))

    def error(self, errors: list[dict[str, Any]]) -> None:
        self._put(("error", errors))

    def complete(self) -> None:
        self._put(("complete", None))

    async def get(self) -> tuple[str, Any]:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


# Runs the shared subscription: calls `deliver` with each result and returns when the
# upstream completes; an exception with `.errors` (SubscriptionError) ends it with those.
Source = Callable[[Callable[[SharedResult], None]], Awaitable[None]]


class SharedSubscription:
    """Identical client subscriptions (`members`) and the one task that feeds them all."""

    def __init__(self, key: Hashable, registry: dict[Hashable, "SharedSubscription"]):
        self.key = key
        self.members: set[Sink] = set()
        self._registry = registry
        self.task: asyncio.Task | None = None

    def start(self, source: Source) -> None:
        self.task = asyncio.create_task(self._run(source), name="shared-subscription")

    def deliver(self, shared: SharedResult) -> None:
        for member in tuple(self.members):
            member.next(shared)

    async def _run(self, source: Source) -> None:
        try:
            await source(self.deliver)
        except asyncio.CancelledError:
            raise  # the last member left: nobody to tell
        except Exception as error:
            errors = getattr(error, "errors", None)
            if errors is None:  # a router bug: logged once with an id, never a trace to clients
                request_id = uuid.uuid4().hex[:12]
                log.exception("shared subscription failed (request id %s)", request_id)
                errors = [{
                    "message": f"Internal server error (request id {request_id}).",
                    "extensions": {"code": RouterErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
                }]
            self._end(lambda member: member.error(errors))
            return
        self._end(lambda member: member.complete())

    def _end(self, tell: Callable[[Sink], None]) -> None:
        # Forgotten first, so an identical subscription arriving now starts afresh.
        if self._registry.get(self.key) is self:
            del self._registry[self.key]
        members, self.members = tuple(self.members), set()
        for member in members:
            tell(member)


class FanOut:
    """The shared subscriptions open now, by sharing key."""

    def __init__(self) -> None:
        self._shared: dict[Hashable, SharedSubscription] = {}

    @property
    def groups(self) -> int:
        return len(self._shared)

    @property
    def clients(self) -> int:
        return sum(len(shared.members) for shared in self._shared.values())

    def join(self, key: Hashable, sink: Sink, source: Callable[[], Source]) -> SharedSubscription:
        """Adds `sink` to the shared subscription `key`, started with `source()` if new."""
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = SharedSubscription(key, self._shared)
            shared.members.add(sink)
            shared.start(source())
        else:
            shared.members.add(sink)
        return shared

    def leave(self, shared: SharedSubscription, sink: Sink) -> None:
        """Removes `sink`; the last one out stops the shared task (which leaves the hub,
        closing the upstream if nobody else listens to it)."""
        shared.members.discard(sink)
        if not shared.members:
            if self._shared.get(shared.key) is shared:
                del self._shared[shared.key]
            if shared.task is not None and not shared.task.done():
                shared.task.cancel()
