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
