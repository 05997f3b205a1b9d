"""Per-key order for concurrent deliveries.

A consumer that handles many messages at once (`subscribe(..., concurrency=N,
per_key=True)`) must still apply one key's messages in the order they arrived: an
order's NEW before its FILL. `KeySequencer.run(key, delivery)` is called in arrival
order; each delivery starts only after the previous delivery of the same key has
finished, retries and all. Deliveries of different keys run side by side."""
from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Coroutine, Hashable, TypeVar

T = TypeVar("T")


class KeySequencer:
    def __init__(self) -> None:
        # The last delivery handed in per key, until it ends: what the next one waits for.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    def run(self, key: Hashable, delivery: Awaitable[T]) -> Coroutine[Any, Any, T]:
        """Must be called in arrival order, synchronously (it takes the key's place in
        line at once); the returned awaitable runs `delivery` when its turn comes."""
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        return self._after(key, previous, mine, delivery)

    async def _after(self, key: Hashable, previous: asyncio.Future[None] | None, mine: asyncio.Future[None], delivery):
        try:
            if previous is not None:
                # shield: a cancelled waiter must not cancel the delivery it waits for.
                await asyncio.shield(previous)
            return await delivery
        finally:
            if inspect.iscoroutine(delivery) and inspect.getcoroutinestate(delivery) == inspect.CORO_CREATED:
                delivery.close()  # cancelled while waiting its turn: it never started
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]

    def __len__(self) -> int:
        """Keys with a delivery in line (for tests and metrics)."""
        return len(self._tails)
