"""The in-memory catalog: served from memory while fresh, reloaded when older than its
max age or when this process changed the catalog, one reload for a burst of readers."""
from __future__ import annotations

import asyncio

from subgraphs.assets.catalog_view import CatalogView
from subgraphs.assets.domain import AssetRecord, AssetType


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Table:
    """Stands for the assets table: counts loads, and lets a load be held open."""

    def __init__(self) -> None:
        self.rows = {"PETR4": AssetRecord("PETR4", "Petrobras PN", AssetType.STOCK, 100)}
        self.loads = 0
        self.gate: asyncio.Event | None = None

    async def load(self):
        self.loads += 1
        if self.gate is not None:
            await self.gate.wait()
        return dict(self.rows)


async def test_reads_within_max_age_are_served_from_memory():
    table, clock = Table(), Clock()
    view = CatalogView(table.load, max_age=5.0, clock=clock)
    assert set(await view.records()) == {"PETR4"}
    table.rows["VALE3"] = AssetRecord("VALE3", "Vale ON", AssetType.STOCK, 100)
    clock.now += 4.9
    assert set(await view.records()) == {"PETR4"}  # a change made elsewhere is not seen yet
    assert table.loads == 1


async def test_a_change_made_elsewhere_is_seen_once_max_age_has_passed():
    table, clock = Table(), Clock()
    view = CatalogView(table.load, max_age=5.0, clock=clock)
    await view.records()
    table.rows["PETR4"] = AssetRecord("PETR4", "Petrobras PN", AssetType.STOCK, 100, active=False)
    clock.now += 5.0
    assert (await view.records())["PETR4"].active is False
    assert table.loads == 2


async def test_invalidate_reloads_on_the_next_read():
    table, clock = Table(), Clock()
    view = CatalogView(table.load, max_age=5.0, clock=clock)
    await view.records()
    table.rows["NEWA3"] = AssetRecord("NEWA3", "New Asset ON", AssetType.STOCK, 100)
    view.invalidate()
    assert "NEWA3" in await view.records()
    assert table.loads == 2


async def test_a_burst_of_readers_after_expiry_waits_for_one_load():
    table, clock = Table(), Clock()
    view = CatalogView(table.load, max_age=5.0, clock=clock)
    table.gate = asyncio.Event()
    readers = [asyncio.create_task(view.records()) for _ in range(20)]
    await asyncio.sleep(0)  # every reader is now waiting on the one load in flight
    table.gate.set()
    results = await asyncio.gather(*readers)
    assert table.loads == 1 and all(set(r) == {"PETR4"} for r in results)


async def test_a_failed_load_is_tried_again_by_the_next_read():
    table, clock = Table(), Clock()
    failing = True

    async def load():
        if failing:
            raise ConnectionError("database unreachable")
        return await table.load()

    view = CatalogView(load, max_age=5.0, clock=clock)
    try:
        await view.records()
    except ConnectionError:
        pass
    else:
        raise AssertionError("the load's error must reach the reader")
    failing = False
    assert set(await view.records()) == {"PETR4"}
