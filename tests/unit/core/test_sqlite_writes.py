"""SQLite writes queue instead of failing: many concurrent transactions on one file all
commit, in the order they asked, even when SQLite itself would not wait at all."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from mybroker.db import Database

pytestmark = pytest.mark.asyncio


def _database(tmp_path, **options) -> tuple[Database, Table]:
    metadata = MetaData()
    rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("writer", Integer, nullable=False))
    # busy_timeout 0: without the queue, any writer that meets another's lock fails at once
    # with "database is locked".
    return Database(f"sqlite+aiosqlite:///{tmp_path}/writes.db", metadata, sqlite_busy_timeout_ms=0, **options), rows


async def test_concurrent_writers_all_commit_in_arrival_order(tmp_path):
    db, rows = _database(tmp_path)
    await db.create_schema()
    try:

        async def write(writer: int) -> None:
            async with db.transaction() as tx:
                await tx.session.execute(insert(rows).values(writer=writer))
                await asyncio.sleep(0)  # hold the write lock across a suspension, as use cases do

        await asyncio.gather(*(write(n) for n in range(60)))
        async with db.read() as session:
            order = (await session.execute(select(rows.c.writer).order_by(rows.c.id))).scalars().all()
        assert order == list(range(60))
    finally:
        await db.dispose()


async def test_reads_do_not_wait_for_a_writer(tmp_path):
    db, rows = _database(tmp_path)
    await db.create_schema()
    try:
        writing = asyncio.Event()
        finish = asyncio.Event()

        async def slow_writer() -> None:
            async with db.transaction() as tx:
                await tx.session.execute(insert(rows).values(writer=1))
                writing.set()
                await finish.wait()

        task = asyncio.create_task(slow_writer())
        await writing.wait()
        async with db.read() as session:  # the last commit, while the writer holds its turn
            assert (await session.execute(select(rows.c.writer))).scalars().all() == []
        finish.set()
        await task
    finally:
        await db.dispose()


async def test_a_transaction_inside_another_on_the_same_file_is_refused(tmp_path):
    db, rows = _database(tmp_path)
    await db.create_schema()
    try:
        with pytest.raises(RuntimeError, match="inside another"):
            async with db.transaction():
                async with db.transaction():
                    pass
        async with db.transaction() as tx:  # the turn was given back
            await tx.session.execute(insert(rows).values(writer=2))
    finally:
        await db.dispose()


async def test_a_failed_transaction_gives_the_turn_back(tmp_path):
    db, rows = _database(tmp_path)
    await db.create_schema()
    try:
        with pytest.raises(ValueError):
            async with db.transaction() as tx:
                await tx.session.execute(insert(rows).values(writer=3))
                raise ValueError("use case refused")
        async with db.transaction() as tx:
            await tx.session.execute(insert(rows).values(writer=4))
        async with db.read() as session:
            assert (await session.execute(select(rows.c.writer))).scalars().all() == [4]
    finally:
        await db.dispose()


class _LoopTicks:
    """Counts the event loop's turns: a task that yields again and again."""

    def __init__(self) -> None:
        self.turns = 0
        self._task = asyncio.create_task(self._spin())

    async def _spin(self) -> None:
        while True:
            self.turns += 1
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._task.cancel()


async def test_a_write_transaction_holds_the_lock_without_giving_the_loop_away(tmp_path):
    """Each suspension inside a write transaction waits behind every ready task while the
    file's one write lock is held; the statements run inline, so there is none."""
    db, rows = _database(tmp_path)
    await db.create_schema()
    async with db.transaction() as tx:  # the pool's connection is open from now on
        await tx.session.execute(insert(rows).values(writer=0))
    ticks = _LoopTicks()
    try:
        await asyncio.sleep(0)
        before = ticks.turns
        async with db.transaction() as tx:
            for writer in range(1, 6):
                await tx.session.execute(insert(rows).values(writer=writer))
            await tx.session.execute(select(rows.c.writer))
        assert ticks.turns == before, "the transaction suspended while holding the write lock"
        async with db.read() as session:
            assert (await session.execute(select(rows.c.writer).order_by(rows.c.id))).scalars().all() == [0, 1, 2, 3, 4, 5]
    finally:
        ticks.stop()
        await db.dispose()


async def test_a_read_runs_its_statements_without_giving_the_loop_away(tmp_path):
    """A poll's read of several statements would take a turn of a busy loop per statement
    through aiosqlite's thread; inline it takes none."""
    db, rows = _database(tmp_path)
    await db.create_schema()
    async with db.transaction() as tx:
        await tx.session.execute(insert(rows).values(writer=7))
    async with db.read() as session:  # the read pool's connection is open from now on
        await session.execute(select(rows.c.writer))
    ticks = _LoopTicks()
    try:
        await asyncio.sleep(0)
        before = ticks.turns
        async with db.read() as session:
            for _ in range(4):
                assert (await session.execute(select(rows.c.writer))).scalars().all() == [7]
        assert ticks.turns == before
    finally:
        ticks.stop()
        await db.dispose()


async def test_a_lock_held_by_another_process_is_waited_for_off_the_loop(tmp_path):
    """BEGIN IMMEDIATE meets another connection's write lock (another process, to SQLite):
    the wait happens in aiosqlite's thread, the loop keeps running, and the transaction
    commits once the lock is released."""
    import sqlite3

    metadata = MetaData()
    rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("writer", Integer, nullable=False))
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/shared.db", metadata, sqlite_busy_timeout_ms=10_000)
    await db.create_schema()
    other = sqlite3.connect(f"{tmp_path}/shared.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO rows (writer) VALUES (99)")
    ticks = _LoopTicks()
    try:

        async def write() -> None:
            async with db.transaction() as tx:
                await tx.session.execute(insert(rows).values(writer=1))

        writing = asyncio.create_task(write())
        start = ticks.turns
        while ticks.turns < start + 50:  # the loop turns while the writer waits
            await asyncio.sleep(0)
        assert not writing.done()
        other.execute("COMMIT")
        await writing
        async with db.read() as session:
            assert (await session.execute(select(rows.c.writer).order_by(rows.c.id))).scalars().all() == [99, 1]
    finally:
        ticks.stop()
        other.close()
        await db.dispose()
