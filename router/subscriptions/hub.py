"""One upstream subscription per distinct (subgraph, operation, variables, caller),
shared by every client subscription that asks for exactly that.

Each shared subscription (`fanout`: the identical client subscriptions of one caller) is
a `Listener` with a bounded buffer: one whose entity fetches fall behind loses its oldest
events (counted in `dropped`), never the router's memory. The upstream is closed when
its last listener leaves; when the subgraph ends it (complete, error, drop), every
listener gets that ending and the next identical subscription opens a fresh upstream."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any, AsyncIterator, Hashable

import orjson

from router.executor import router_error, subgraph_errors
from router.subgraph_client import SubgraphUnavailable
from router.subscriptions.upstream import SubgraphSubscriber, UpstreamError

log = logging.getLogger("router.subscriptions")

# What a listener receives: ("next", UpstreamEvent) ... then ("complete", None) or ("error", errors).
Event = tuple[str, Any]


class UpstreamEvent:
    """One result from the subgraph, the same object (decoded once) for every listener of
    the upstream."""

    __slots__ = ("payload",)

    def __init__(self, payload: dict[str, Any]):
        self.payload = payload


class Listener:
    def __init__(self, capacity: int):
        self._events: deque[Event] = deque()
        self._capacity = capacity
        self._ready = asyncio.Event()
        self.dropped = 0

    def offer(self, event: Event) -> None:
        if event[0] == "next" and len(self._events) >= self._capacity:
            self._events.popleft()
            self.dropped += 1
        self._events.append(event)
        self._ready.set()

    async def get(self) -> Event:
        while not self._events:
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()


class _Upstream:
    def __init__(self) -> None:
        self.listeners: set[Listener] = set()
        self.task: asyncio.Task | None = None

    def broadcast(self, event: Event) -> None:
        for listener in tuple(self.listeners):
            listener.offer(event)


class SubscriptionHub:
    def __init__(self, subscriber: SubgraphSubscriber, *, capacity: int = 256):
        self.subscriber = subscriber
        self.capacity = capacity
        self._upstreams: dict[Hashable, _Upstream] = {}

    @property
    def upstreams(self) -> int:
        """Upstream subscriptions open now (for tests and metrics)."""
        return len(self._upstreams)

    @property
    def listeners(self) -> int:
        return sum(len(upstream.listeners) for upstream in self._upstreams.values())

    @contextlib.asynccontextmanager
    async def join(self, service: str, url: str, body: dict[str, Any], headers: dict[str, str]) -> AsyncIterator[Listener]:
        """A listener on the upstream subscription `body` at `url`; the headers carry the
        caller, so two callers never share one."""
        key = (service, orjson.dumps(body, option=orjson.OPT_SORT_KEYS), tuple(sorted(headers.items())))
        upstream = self._upstreams.get(key)
        if upstream is None:
            upstream = self._upstreams[key] = _Upstream()
            upstream.task = asyncio.create_task(
                self._pump(key, upstream, service, url, body, headers), name=f"upstream:{service}"
            )
        listener = Listener(self.capacity)
        upstream.listeners.add(listener)
        try:
            yield listener
        finally:
            upstream.listeners.discard(listener)
            if not upstream.listeners and self._upstreams.get(key) is upstream:
                del self._upstreams[key]
                await _stop(upstream.task)

    async def _pump(self, key, upstream: _Upstream, service: str, url: str, body: dict, headers: dict) -> None:
        ending: Event = ("complete", None)
        try:
            async with contextlib.aclosing(self.subscriber.subscribe(url, body, headers)) as results:
                async for payload in results:
                    upstream.broadcast(("next", UpstreamEvent(payload)))
        except UpstreamError as error:
            ending = ("error", subgraph_errors(error.errors, service))
        except SubgraphUnavailable as error:
            ending = ("error", [router_error(f'Subgraph "{service}" ended the subscription.', service, f"{url}: {error}")])
        except asyncio.CancelledError:
            raise  # the last listener left: nobody to tell
        except Exception as error:  # a router bug must still end every listener's subscription
            log.exception("upstream subscription to %s failed", service)
            ending = ("error", [router_error(f'Subgraph "{service}" ended the subscription.', service, repr(error))])
        # Forget this upstream before telling its listeners, so a new identical
        # subscription opens a fresh one instead of joining one that has ended.
        if self._upstreams.get(key) is upstream:
            del self._upstreams[key]
        upstream.broadcast(ending)

    async def close(self) -> None:
        """Ends every upstream (router shutdown)."""
        upstreams, self._upstreams = list(self._upstreams.values()), {}
        for upstream in upstreams:
            await _stop(upstream.task)
            upstream.broadcast(("complete", None))


async def _stop(task: asyncio.Task | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    # Bounded: closing the subgraph's socket waits at most its close timeout.
    await asyncio.wait({task}, timeout=5.0)
