"""The catalog as the assets subgraph reads it: every row held in memory, reloaded from the
database when older than `max_age`.

Every `asset(ticker:)`, every `_entities` batch the router sends and every order's
`/internal/assets/{ticker}` check looked the ticker up in SQL (about a sixth of the
subgraph's time per request under load, most of it SQLAlchemy and the SQLite thread
hop). The catalog is a few hundred rows that change when the catalog is seeded or an
operator deactivates an asset, so one in-memory copy serves them all. The seed in this
process invalidates it at once; a change made elsewhere (another assets process, an
operator's UPDATE) is seen within `max_age` seconds."""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Mapping

from subgraphs.assets.domain import AssetRecord

Loader = Callable[[], Awaitable[Mapping[str, AssetRecord]]]

DEFAULT_MAX_AGE = 5.0


class CatalogView:
    def __init__(self, load: Loader, *, max_age: float = DEFAULT_MAX_AGE, clock: Callable[[], float] = time.monotonic):
        self._load = load
        self._max_age = max_age
        self._clock = clock
        self._records: Mapping[str, AssetRecord] | None = None
        self._loaded_at = 0.0
        # One reload at a time: a burst of requests after expiry waits for the same load.
        self._loading = asyncio.Lock()

    async def records(self) -> Mapping[str, AssetRecord]:
        """Ticker -> record for every asset in the catalog, active or not."""
        if self._fresh():
            return self._records  # type: ignore[return-value]
        async with self._loading:
            if not self._fresh():  # another waiter may have reloaded it meanwhile
                started = self._clock()
                self._records = dict(await self._load())
                self._loaded_at = started
        return self._records  # type: ignore[return-value]

    def invalidate(self) -> None:
        """The next read reloads: this process has just changed the catalog."""
        self._records = None

    def _fresh(self) -> bool:
        return self._records is not None and self._clock() - self._loaded_at < self._max_age
