"""Schema migrations: how they run. One Alembic environment per service, kept beside its
tables (`subgraphs/<name>/migrations/`), applied at start-up (`Database.migrate`) and by
`mybroker migrate`.

Each service owns its database, so each keeps Alembic's default `alembic_version` table.
The environments' `env.py` call `run_environment(metadata)`; the Alembic configuration is
built in code, so no alembic.ini is needed. Which services have migrations and where is
the composition root's knowledge (launch/migrations.py, which also writes new revisions):
the kernel imports no service.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger("mybroker.migrations")

# Two instances of one service starting together must not both run the DDL (MySQL).
_LOCK_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Migration:
    """What `migrate` did to one database."""

    database: str
    before: str | None  # revision found (None: empty database, or one made by create_all)
    after: str | None
    applied: list[str] = field(default_factory=list)  # revisions run, oldest first
    adopted: str | None = None  # a create_all schema recognised as this baseline revision

    def describe(self) -> str:
        done = []
        if self.adopted:
            done.append(f"adopted the existing schema as {self.adopted}")
        if self.applied:
            done.append("applied " + ", ".join(self.applied))
        return f"{self.database}: " + ("; ".join(done) if done else "up to date") + f" (at {self.after})"


def alembic_config(database_url: str, migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolation: a '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision(migrations_dir: Path) -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://", migrations_dir)).get_current_head()


async def migrate(database_url: str, migrations_dir: Path, *, engine: AsyncEngine | None = None) -> Migration:
    """`alembic upgrade head` against the service's database, creating a missing MySQL
    database first. `engine`: reuse the service's own (an in-memory SQLite lives in its
    engine only).

    A database without Alembic's version table but with tables was made by `create_all`
    before migrations existed (embedded .mybroker/*.db files): it holds the baseline
    schema, so it is stamped with the baseline revision and upgraded from there."""
    config = alembic_config(database_url, migrations_dir)
    is_mysql = database_url.startswith(("mysql", "mariadb"))
    if is_mysql:
        await create_mysql_database(database_url)
    elif database_url.startswith("postgresql"):
        await create_postgresql_database(database_url)
    own_engine = engine is None
    if engine is None:
        _ensure_sqlite_directory(database_url)
        engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            if is_mysql:
                await _get_lock(connection, database_url)
            try:
                adopted = await connection.run_sync(_adopt_create_all_schema, config)
                before = await connection.run_sync(_current_revision)
                await connection.run_sync(_upgrade, config)
                after = await connection.run_sync(_current_revision)
            finally:
                if is_mysql:
                    await connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _lock_name(database_url)})
                    await connection.commit()
    finally:
        if own_engine:
            await engine.dispose()
    name = make_url(database_url).database or database_url
    return Migration(name, None if adopted else before, after, _applied(migrations_dir, before, after), adopted)


async def assert_schema_current(database_url: str, migrations_dir: Path, *, engine: AsyncEngine | None = None) -> None:
    """Raises if the database is not at the head revision (for services that must not migrate)."""
    own_engine = engine is None
    if engine is None:
        engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_current_revision)
    finally:
        if own_engine:
            await engine.dispose()
    head = head_revision(migrations_dir)
    if current != head:
        raise RuntimeError(f"database {make_url(database_url).database} is at revision {current}, expected {head}: run `mybroker migrate`")


async def create_mysql_database(database_url: str) -> None:
    url = make_url(database_url)
    name = url.database
    if not name:
        raise ValueError(f"no database name in {url.render_as_string(hide_password=True)}")
    server = create_async_engine(url._replace(database=None))  # URL.set ignores None
    try:
        async with server.begin() as connection:
            exists = await connection.execute(
                text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"), {"name": name}
            )
            if exists.first() is not None:  # (IF NOT EXISTS alone logs a warning each start)
                return
            # utf8mb4_bin compares exactly as SQLite does: 'abc' and 'ABC' are two client
            # order ids, two tickers, two e-mails (identity lowercases e-mails itself).
            await connection.execute(
                text(f"CREATE DATABASE IF NOT EXISTS `{name.replace('`', '``')}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            )
    finally:
        await server.dispose()


async def create_postgresql_database(database_url: str) -> None:
    """Creates a missing PostgreSQL database (b3-sim's journal shards each have their own),
    connecting to the server's `postgres` maintenance database to do it."""
    url = make_url(database_url)
    name = url.database
    if not name:
        raise ValueError(f"no database name in {url.render_as_string(hide_password=True)}")
    target = create_async_engine(url)
    try:  # the usual case: it exists, and the maintenance database need not be reachable
        async with target.connect():
            return
    except Exception as exc:  # noqa: BLE001
        if "does not exist" not in str(exc):
            raise
    finally:
        await target.dispose()
    server = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as connection:
            exists = await connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if exists.first() is not None:
                return
            try:
                await connection.execute(text(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"'))
            except Exception as exc:  # noqa: BLE001 - a replica starting together created it first
                if "already exists" not in str(exc):
                    raise
    finally:
        await server.dispose()


class _QuietVersionTableKey(logging.Filter):
    """MariaDB warns that it ignores the name Alembic gives alembic_version's primary key;
    asyncmy logs every server warning. Harmless, so not shown at each start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "alembic_version_pkc" not in record.getMessage()


logging.getLogger("asyncmy").addFilter(_QuietVersionTableKey())


def run_environment(target_metadata: MetaData) -> None:
    """The body of every service's env.py. Under `migrate` Alembic gets an open
    connection; run by hand (`alembic` command API, offline SQL) it makes its own."""
    from alembic import context

    config = context.config
    options: dict[str, Any] = dict(target_metadata=target_metadata, compare_type=True, render_as_batch=True)
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_migrations(connection, options)
        return

    async def run_with_own_engine() -> None:
        engine = create_async_engine(_url(config))
        try:
            async with engine.connect() as conn:
                await conn.run_sync(_run_migrations, options)
                await conn.commit()
        finally:
            await engine.dispose()

    asyncio.run(run_with_own_engine())


def _url(config: Config) -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no sqlalchemy.url and no open connection to migrate")
    return url


def _run_migrations(connection: Connection, options: dict[str, Any]) -> None:
    from alembic import context

    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def _adopt_create_all_schema(connection: Connection, config: Config) -> str | None:
    if _current_revision(connection) is not None:
        return None
    if not set(inspect(connection).get_table_names()) - {"alembic_version"}:
        return None
    base = ScriptDirectory.from_config(config).get_base()
    if base is None:  # no revisions at all: nothing to stamp the tables with
        return None
    log.warning("database has tables but no migration history: stamping baseline %s", base)
    config.attributes["connection"] = connection
    command.stamp(config, base)
    connection.commit()
    return base


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    # MySQL commits each DDL statement itself; SQLite and PostgreSQL need the commit.
    connection.commit()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _applied(migrations_dir: Path, before: str | None, after: str | None) -> list[str]:
    if before == after or after is None:
        return []
    script = ScriptDirectory.from_config(alembic_config("sqlite://", migrations_dir))
    return [rev.revision for rev in reversed(list(script.iterate_revisions(after, before or "base")))]


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _lock_name(database_url: str) -> str:
    return f"mybroker_migrate_{make_url(database_url).database}"[:64]


async def _get_lock(connection, database_url: str) -> None:
    got = (
        await connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"), {"name": _lock_name(database_url), "timeout": _LOCK_TIMEOUT_SECONDS}
        )
    ).scalar()
    if got != 1:
        raise TimeoutError(f"another process holds the migration lock of {make_url(database_url).database}")
