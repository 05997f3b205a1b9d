"""Group commit of market-data ticks (subgraphs.assets.ticks): what arrives while a batch is
written makes the next batch, and a tick that cannot be written fails alone."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from mybroker.wire import Quote
from subgraphs.assets.domain import QuoteTick
from subgraphs.assets.ticks import TickBatches

AT = datetime(2025, 3, 10, 13, 0, tzinfo=timezone.utc)


def tick(price: str) -> tuple[Quote, QuoteTick]:
    # The writer never looks inside the Quote: the tick is what these tests tell apart.
    return (None, QuoteTick("PETR4", Decimal(price), Decimal("0"), 0.0, 100, AT))  # type: ignore[return-value]


class Writes:
    def __init__(self, refused: str | None = None):
        self.refused = refused
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, batch) -> None:
        self.batches.append([str(t.price) for _q, t in batch])
        await self.gate.wait()
        if any(str(t.price) == self.refused for _q, t in batch):
            raise ValueError("refused")


async def test_ticks_arriving_while_a_batch_is_written_make_the_next_batch():
    writes = Writes()
    batches = TickBatches(writes)
    writes.gate.clear()
    first = [asyncio.create_task(batches.submit(*tick(p))) for p in ("1", "2")]
    await asyncio.sleep(0)  # both joined the first batch, which is being written
    later = [asyncio.create_task(batches.submit(*tick(p))) for p in ("3", "4", "5")]
    await asyncio.sleep(0)
    assert writes.batches == [["1", "2"]] and not any(t.done() for t in first + later)
    writes.gate.set()
    await asyncio.gather(*first, *later)
    assert writes.batches == [["1", "2"], ["3", "4", "5"]] and batches.batches == 2


async def test_a_tick_the_store_refuses_fails_alone():
    writes = Writes(refused="2")
    batches = TickBatches(writes)
    results = await asyncio.gather(*(batches.submit(*tick(p)) for p in ("1", "2", "3")), return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    # The batch failed, so each tick was written again on its own.
    assert writes.batches == [["1", "2", "3"], ["1"], ["2"], ["3"]]


async def test_a_stopped_writer_leaves_its_ticks_unacknowledged():
    writes = Writes()
    batches = TickBatches(writes)
    writes.gate.clear()
    waiting = asyncio.create_task(batches.submit(*tick("1")))
    await asyncio.sleep(0)
    writer = batches._writer
    assert writer is not None
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # The next tick starts a writer of its own.
    writes.gate.set()
    await batches.submit(*tick("2"))
    assert writes.batches[-1] == ["2"]
