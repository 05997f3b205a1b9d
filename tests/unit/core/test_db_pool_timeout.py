"""Issue 13, availability: a database pool that stays full makes a request wait at most
MYBROKER_DB_POOL_TIMEOUT, then its subgraph answers SUBGRAPH_UNAVAILABLE ("service busy,
try again") instead of an INTERNAL_SERVER_ERROR with a stack trace; the next request, once
a connection is free, is served."""
from __future__ import annotations

import logging
import time

import pytest
import strawberry
from sqlalchemy import MetaData, text

from mybroker.db import Database, _engine_options
from mybroker.graphql import BUSY_MESSAGE, federation_schema, format_error
from mybroker.settings import Settings


@pytest.fixture
async def db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/busy.db", MetaData(), pool_timeout=0.2)
    yield database
    await database.dispose()


def schema_over(database: Database):
    @strawberry.type
    class Query:
        @strawberry.field
        async def written(self) -> int:
            async with database.transaction() as tx:
                return (await tx.session.execute(text("select 7"))).scalar_one()

    return federation_schema(query=Query)


@pytest.mark.asyncio
async def test_a_full_pool_answers_busy_after_the_pool_timeout_not_an_internal_error(db, caplog):
    schema = schema_over(db)
    held = [db.write_engine.connect() for _ in range(2)]  # the writer pool's 2 connections, no overflow
    try:
        assert db.write_engine.pool.checkedout() == 2
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="mybroker.graphql"):
            result = await schema.execute("{ written }")
        waited = time.perf_counter() - started
        assert 0.2 <= waited < 1.0
        (error,) = result.errors
        shaped = format_error(error)
        assert shaped["message"] == BUSY_MESSAGE
        assert shaped["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE" and len(shaped["extensions"]["requestId"]) == 12
        assert "Traceback" not in caplog.text and "QueuePool limit" in caplog.text  # logged as one line
        assert not any(record.levelno >= logging.ERROR for record in caplog.records)

        held.pop().close()
        result = await schema.execute("{ written }")
        assert result.errors is None and result.data == {"written": 7}
    finally:
        for connection in held:
            connection.close()


@pytest.mark.asyncio
async def test_the_pool_timeout_reaches_every_pool(db):
    assert db.engine.pool.timeout() == 0.2
    assert db.write_engine.pool.timeout() == db.read_engine.pool.timeout() == 0.2
    assert db.read_engine is not db.write_engine
    assert _engine_options("mysql+asyncmy://u:p@h/db", pool_timeout=3)["pool_timeout"] == 3
    assert _engine_options("postgresql+asyncpg://u:p@h/db")["pool_timeout"] == 5.0


def test_the_pool_timeout_setting():
    assert Settings.from_env({}).db_pool_timeout == 5.0
    assert Settings.from_env({"MYBROKER_DB_POOL_TIMEOUT": "2.5"}).db_pool_timeout == 2.5
    with pytest.raises(ValueError, match="MYBROKER_DB_POOL_TIMEOUT"):
        Settings.from_env({"MYBROKER_DB_POOL_TIMEOUT": "0"})
