"""One b3-sim process's share of the market when the exchange is sharded by ticker.

The shard owns the catalog tickers whose stable hash (mybroker.bus.sharding.shard_of)
falls on it. Everything else follows: its `b3.orders` queue, its market-data consumer
group (each shard needs every quote, so shards must not split one group's partitions),
and its journal database (the configured one's name plus `_shard<i>of<n>`), so each
shard rebuilds, migrates and relays its own journal."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy.engine import make_url

from mybroker.bus.sharding import shard_of, shard_queue
from mybroker.catalog import CatalogEntry
from mybroker.events import EXCHANGE_ORDERS
from mybroker.settings import Settings


@dataclass(frozen=True)
class Shard:
    index: int = 1
    count: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> "Shard":
        return cls(settings.b3sim_shard, settings.b3sim_shards)

    def __str__(self) -> str:
        return f"shard {self.index}/{self.count}"

    def owns(self, ticker: str) -> bool:
        return self.count == 1 or shard_of(ticker, self.count) == self.index

    def owned(self, catalog: Iterable[CatalogEntry]) -> list[CatalogEntry]:
        return [entry for entry in catalog if self.owns(entry.ticker)]

    @property
    def orders_queue(self) -> str:
        return shard_queue(EXCHANGE_ORDERS, self.index, self.count)

    def group(self, base: str) -> str:
        return base if self.count == 1 else f"{base}-shard-{self.index}-of-{self.count}"

    def journal_url(self, url: str) -> str:
        """The shard's own journal database beside the configured one."""
        if self.count == 1:
            return url
        parsed = make_url(url)
        suffix = f"_shard{self.index}of{self.count}"
        database = parsed.database or ""
        if parsed.get_backend_name() == "sqlite" and database.endswith(".db"):
            return parsed.set(database=database[: -len(".db")] + suffix + ".db").render_as_string(hide_password=False)
        return parsed.set(database=database + suffix).render_as_string(hide_password=False)
