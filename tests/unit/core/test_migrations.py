"""Each service's Alembic migrations build exactly the schema its MetaData describes, and
migrating again changes nothing."""
from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from mybroker.db import Database, utc_now
from launch.registry import migrations_dir
from mybroker.migrations import assert_schema_current, head_revision, migrate
from mybroker.settings import SERVICES


def _metadata(service: str):
    return importlib.import_module(f"subgraphs.{service}.tables").metadata


def _diff(connection, metadata) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


def _schema(connection) -> dict:
    inspector = inspect(connection)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
            sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
        )
        for table in inspector.get_table_names()
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_exactly_the_metadata(tmp_path, service):
    url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
    metadata = _metadata(service)
    done = await migrate(url, migrations_dir(service))
    assert done.applied[0] == "0001" and done.applied[-1] == head_revision(migrations_dir(service))
    assert done.before is None and done.after == head_revision(migrations_dir(service))

    db = Database(url, metadata)
    try:
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_diff, metadata) == []
            tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        assert tables == set(metadata.tables) | {"alembic_version"}
        if db.outbox is not None:
            assert {"outbox", "inbox"} <= tables
    finally:
        await db.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_create_all(tmp_path, service):
    """Columns, types, indexes and unique constraints as create_all would make them."""
    metadata = _metadata(service)
    migrated = Database(f"sqlite+aiosqlite:///{tmp_path}/migrated.db", metadata)
    created = Database(f"sqlite+aiosqlite:///{tmp_path}/created.db", metadata)
    try:
        await migrated.migrate(migrations_dir(service))
        await created.create_schema()
        async with migrated.engine.connect() as a, created.engine.connect() as b:
            got, want = await a.run_sync(_schema), await b.run_sync(_schema)
        got.pop("alembic_version")
        assert got == want
    finally:
        await migrated.dispose()
        await created.dispose()


async def test_migrating_twice_is_a_no_op(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/wallet.db", _metadata("wallet"))
    try:
        head = head_revision(migrations_dir("wallet"))
        assert (await db.migrate(migrations_dir("wallet"))).applied[-1] == head
        async with db.engine.connect() as connection:
            before = await connection.run_sync(_schema)
        again = await db.migrate(migrations_dir("wallet"))
        assert again.applied == [] and again.adopted is None and again.before == again.after == head
        assert again.describe() == f"{tmp_path}/wallet.db: up to date (at {head})"
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_schema) == before
    finally:
        await db.dispose()


async def test_in_memory_database_migrates_through_its_own_engine():
    """An in-memory SQLite exists only in its engine, so Database.migrate uses that one."""
    db = Database("sqlite+aiosqlite:///:memory:", _metadata("orders"))
    try:
        await db.migrate(migrations_dir("orders"))
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_diff, db.metadata) == []
    finally:
        await db.dispose()


def test_migrations_ship_inside_the_subgraph_packages():
    for service in SERVICES:
        directory = migrations_dir(service)
        assert (directory / "env.py").is_file()
        assert (directory / "script.py.mako").is_file()
        assert (directory / "versions" / "0001_initial.py").is_file()


async def test_a_schema_made_by_create_all_is_adopted_as_the_baseline(tmp_path):
    """Embedded databases from before migrations keep their rows: stamped, not recreated."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db", _metadata("orders"))
    try:
        await db.create_schema()
        async with db.transaction() as tx:
            await tx.session.execute(db.inbox.insert().values(consumer="c", message_id="m", processed_at=utc_now()))
        done = await db.migrate(migrations_dir("orders"))
        # Stamped as the baseline, then brought to head (later revisions take a create_all
        # schema that has their columns already).
        head = head_revision(migrations_dir("orders"))
        assert done.adopted == "0001" and done.after == head and "0001" not in done.applied
        async with db.transaction() as tx:
            assert not await tx.first_time("c", "m")
    finally:
        await db.dispose()


async def test_assert_schema_current(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/reports.db"
    with pytest.raises(RuntimeError, match="mybroker migrate"):
        await assert_schema_current(url, migrations_dir("reports"))
    await migrate(url, migrations_dir("reports"))
    await assert_schema_current(url, migrations_dir("reports"))
