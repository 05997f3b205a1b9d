"""Relational stores: one database per service (SQLite embedded, MySQL/PostgreSQL real).

`Database.transaction()` is the unit of work: the state change, the outgoing messages
(outbox) and the record of consumed messages (inbox) commit together, so a crash can
neither lose an event nor apply a redelivered one twice."""
from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import AsyncIterator, cast

import aiosqlite
import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    Engine,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool
from sqlalchemy.util.queue import AsyncAdaptedQueue
from sqlalchemy.util import await_only
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from mybroker.bus import MessageBus, PublishIncomplete, publish_in_order
from mybroker.events import Envelope
from mybroker.outage_log import OutageLog

log = logging.getLogger("mybroker.db")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Adds the outbox and inbox tables to a service's metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("channel", String(100), nullable=False),
        Column("message_key", String(100)),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, default=utc_now),
        Column("published_at", DateTime(timezone=True), index=True),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("message_id", String(64), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, default=utc_now),
    )
    return outbox, inbox


class Transaction:
    """What a use case gets inside `Database.transaction()`."""

    def __init__(self, session: AsyncSession, db: "Database"):
        self.session = session
        self._db = db
        self.emitted = 0
        self._outgoing: list[dict] = []

    async def emit(self, channel: str, message: Envelope, key: str | None = None) -> None:
        """Queue a message to be published after (and only if) this transaction commits.

        The rows are written together just before the commit (`flush`), one executemany
        for the transaction's messages: a fill emits up to five, and one statement each was
        a large share of the order path's SQL."""
        if self._db.outbox is None:
            raise RuntimeError("this database has no outbox table")
        self._outgoing.append({"channel": channel, "message_key": key, "payload": message.to_bytes(), "created_at": utc_now()})
        self.emitted += 1

    async def flush(self) -> None:
        """Writes the queued outbox rows, in emit order (their `seq` is that order)."""
        if self._outgoing:
            rows, self._outgoing = self._outgoing, []
            statement = self._db.statements.outbox_insert
            assert statement is not None  # emit refused the messages of a database without an outbox
            await self.session.execute(statement, rows)

    async def first_time(self, consumer: str, message_id: str) -> bool:
        """Record a consumed message; False if this consumer already processed it.

        One statement, an insert that skips a duplicate key (ON CONFLICT DO NOTHING, MySQL's
        INSERT IGNORE): it inserted a row or it did not. A concurrent consumer of the same
        message on MySQL or PostgreSQL waits on the key's lock, then sees the row and
        inserts nothing, and the transaction stays usable; a select then a savepointed
        insert took four statements for the same answer."""
        statement = self._db.statements.inbox_insert
        if statement is None:
            raise RuntimeError("this database has no inbox table")
        result = await self.session.execute(statement, {"consumer": consumer, "message_id": message_id, "processed_at": utc_now()})
        return cast(CursorResult, result).rowcount == 1


class _Statements:
    """The messaging statements, built once per database: building a statement costs
    SQLAlchemy more than running it on SQLite."""

    def __init__(self, dialect: str, outbox: Table | None, inbox: Table | None):
        self.outbox_insert = insert(outbox) if outbox is not None else None
        self.inbox_insert = insert_skipping_duplicates(dialect, inbox) if inbox is not None else None


@functools.cache  # built once per table: building costs more than running it on SQLite
def insert_skipping_duplicates(dialect: str, table: Table):
    """An insert that writes nothing for a row whose key is there already; its rowcount
    says which (1 inserted, 0 skipped)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table).on_conflict_do_nothing()
    if dialect in ("mysql", "mariadb"):
        # IGNORE also turns other errors into warnings; the inbox row is two short ids
        # and a time, so the only error it can meet is the duplicate key.
        return insert(table).prefix_with("IGNORE")
    raise ValueError(f"no duplicate-skipping insert for {dialect}")


# The SQLite databases whose write lock the running task holds: a transaction opened inside
# another on the same file would wait for itself, so it is refused with a clear error.
_writing: ContextVar[frozenset[int]] = ContextVar("mybroker_db_writing", default=frozenset())

# How long a SQLite writer waits for another process's write lock (SQLite's busy handler).
# Writers in this process never get there: they queue on `Database._write_turn` first.
SQLITE_BUSY_TIMEOUT_MS = 10_000

# How long a checkout waits for a pooled connection (MYBROKER_DB_POOL_TIMEOUT) before it
# fails with sqlalchemy.exc.TimeoutError, which the GraphQL layer answers as
# SUBGRAPH_UNAVAILABLE (mybroker/graphql.py): a burst beyond the pool queues for a while,
# a pool held by something stuck refuses quickly instead of holding every request 30 s.
DB_POOL_TIMEOUT_SECONDS = 5.0


class Database:
    """`sqlite_busy_timeout_ms`: how long a SQLite writer waits for a lock held by another
    process (tests lower it to show that this process's writers never need to).
    `pool_timeout`: seconds a session waits for a pooled connection (DB_POOL_TIMEOUT_SECONDS)."""

    def __init__(
        self, url: str, metadata: MetaData, *, echo: bool = False, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        pool_timeout: float = DB_POOL_TIMEOUT_SECONDS,
    ):
        self.url = url
        self.metadata = metadata
        self.outbox: Table | None = metadata.tables.get("outbox")
        self.inbox: Table | None = metadata.tables.get("inbox")
        self.is_sqlite = url.startswith("sqlite")
        in_memory = False
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            in_memory = not path or path == ":memory:"
            if not in_memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        options = _engine_options(url, in_memory=in_memory, pool_timeout=pool_timeout)
        if self.is_sqlite:
            options["async_creator"] = _inline_sqlite(":memory:" if in_memory else path, sqlite_busy_timeout_ms)
        # Schema work and migrations (Alembic runs on an async connection).
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **_JSON_CODEC, **options)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Reads on their own sessions: on SQLite they begin deferred on an engine of their
        # own, so a query never queues for the write lock (in WAL mode readers see the
        # last commit and never wait for writers); elsewhere they share the one engine.
        self._sync_engines: tuple[Engine, ...] = ()
        # The engines `transaction()` and `read()` run on (their pools are what a burst waits on).
        self.write_engine: Engine = self.engine.sync_engine
        self.read_engine: Engine = self.engine.sync_engine
        self.read_sessions = self.sessions
        # SQLite has one writer per file. Left to SQLite, writers beyond the first spin in its
        # busy handler (sleeps of up to 100 ms, in no order) and fail with "database is
        # locked" after busy_timeout under load. This process's writers queue here instead,
        # first come first served (asyncio.Lock is FIFO), each holding one pooled connection
        # only while it writes. Other processes on the file still meet busy_timeout.
        self._write_turn: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            _configure_sqlite(self.engine, writer=True)
        if self.is_sqlite and not in_memory:  # an in-memory database exists on one connection only
            # The use cases' sessions run SQLAlchemy's synchronous SQLite driver on the loop
            # (_inline_sync_sessions): the same SQL, about a third of the cost per statement.
            writer = _inline_sync_engine(path, sqlite_busy_timeout_ms, echo=echo, **_without_creator(options))
            reader = _inline_sync_engine(path, sqlite_busy_timeout_ms, echo=echo, **_sqlite_read_pool(pool_timeout))
            _configure_sqlite(writer, writer=True)
            _configure_sqlite(reader, writer=False)
            self._sync_engines = (writer, reader)
            self.write_engine, self.read_engine = writer, reader
            self.sessions = _inline_sync_sessions(writer)
            self.read_sessions = _inline_sync_sessions(reader)
        self.committed_messages = asyncio.Event()  # wakes the outbox relay
        self.statements = _Statements(self.engine.dialect.name, self.outbox, self.inbox)

    async def create_schema(self) -> None:
        """create_all: for tests' throwaway schemas; services use `migrate`."""
        async with self.engine.begin() as conn:
            await conn.run_sync(self.metadata.create_all)

    async def migrate(self, migrations_dir: Path):
        """Brings the schema to the head of the service's Alembic migrations (creating the
        MySQL database if missing); answers a `mybroker.migrations.Migration`."""
        from mybroker.migrations import migrate

        return await migrate(self.url, migrations_dir, engine=self.engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        if self._write_turn is None:
            async with self._transaction() as tx:
                yield tx
            return
        held = _writing.get()
        if id(self) in held:
            raise RuntimeError(f"a transaction on {self.url} was opened inside another on the same database")
        async with self._write_turn:
            token = _writing.set(held | {id(self)})
            try:
                async with self._transaction() as tx:
                    yield tx
            finally:
                _writing.reset(token)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        async with self._session(self.sessions) as session:
            async with session.begin():
                tx = Transaction(session, self)
                yield tx
                await tx.flush()
        if tx.emitted:
            self.committed_messages.set()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._session(self.read_sessions) as session:
            yield session

    @asynccontextmanager
    async def _session(self, make: async_sessionmaker) -> AsyncIterator[AsyncSession]:
        """A session, closed on the way out. On SQLite it is closed in this task: `async
        with session` closes it in a task of its own (so a cancellation cannot interrupt
        the close), two more turns of a busy loop, with the write lock held when it is a
        transaction. There the close cannot be interrupted anyway: on an inline connection
        (`_InlineSqlite`) its rollback and the connection's return to the pool never
        suspend. Elsewhere the close does I/O and keeps SQLAlchemy's protection."""
        if not self.is_sqlite:
            async with make() as session:
                yield session
            return
        session = make()
        try:
            yield session
        finally:
            await session.close()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read whose statements all see one committed state, e.g. a wallet's cash and
        its positions: on MySQL a REPEATABLE READ transaction (writers use READ
        COMMITTED, where two statements may straddle a commit); on SQLite every session
        is one transaction already."""
        async with self.read() as session:
            if self.engine.dialect.name == "mysql":
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        for engine in self._sync_engines:
            engine.dispose()


def _json_dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (b3-sim's journal, say) through orjson: the standard library's encoder was
# 3% of the services' CPU under 50 traders. Compact output; the same values come back.
_JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def _engine_options(url: str, *, in_memory: bool = False, pool_timeout: float = DB_POOL_TIMEOUT_SECONDS) -> dict:
    if url.startswith("sqlite"):
        # Writers take turns (Database._write_turn), so one connection serves them all; a
        # second covers schema work and the odd read on the writer engine. No overflow: an
        # overflow connection is a new aiosqlite thread, started and ended per checkout.
        # (An in-memory database lives on one connection: SQLAlchemy's single-connection pool.)
        return {} if in_memory else {"pool_size": 2, "max_overflow": 0, "pool_timeout": pool_timeout}
    # Servers close idle connections (MySQL's wait_timeout): test before use, renew early.
    # SQLAlchemy's bounded pool (5 kept, 10 more at a burst) stays; only the wait is ours.
    options: dict = {"pool_pre_ping": True, "pool_recycle": 1800, "pool_timeout": pool_timeout}
    if url.startswith(("mysql", "mariadb")):
        # InnoDB's REPEATABLE READ reads from a snapshot taken at the transaction's first
        # read, so a plain SELECT made after waiting on a row lock (e.g. the wallet's) could
        # miss what the lock holder just committed, and its gap locks deadlock concurrent
        # first inserts. The use cases lock the rows they check (SELECT ... FOR UPDATE) and
        # want every other read fresh: READ COMMITTED, as PostgreSQL does by default.
        options["isolation_level"] = "READ COMMITTED"
    return options


class _InlineSqlite(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the event loop, not in its thread.

    A SQLite statement here takes microseconds; the hop to aiosqlite's thread and back
    costs more, and every hop is a suspension. On a busy loop each suspension waits
    behind every ready task: a write transaction of six statements held the file's one
    write lock 7 to 25 ms under 50 traders for well under 1 ms of work, and the write
    lock, not the CPU, capped the platform; a read of four statements took four turns
    of the loop. Inline, a transaction holds the lock only as long as its own work.

    Nothing inline waits on a lock: the connection's busy timeout is 0. A statement that
    meets another process's lock (SQLITE_BUSY) goes again to aiosqlite's thread, which
    waits there up to `busy_timeout_ms`, off the loop. That is what SQLite's own busy
    handler does (a statement that failed busy changed nothing and is simply run again),
    moved to the thread. This process's writers never meet each other (they queue on
    `Database._write_turn`), and in WAL mode readers and the writer do not block each
    other, so in one process the thread only opens and closes the connection."""

    def __init__(self, path: str, busy_timeout_ms: int):
        # timeout=0: busy timeout 0 from the first statement; check_same_thread=False:
        # opened in aiosqlite's thread, used from the loop's (SQLAlchemy's pool hands it
        # to one session at a time).
        super().__init__(lambda: sqlite3.connect(path, timeout=0, check_same_thread=False), 64)
        self._thread.daemon = True  # as SQLAlchemy's own aiosqlite connect does
        self.busy_timeout_ms = busy_timeout_ms

    async def _execute(self, fn, *args, **kwargs):
        if self._connection is None or not self._running:
            raise ValueError("Connection closed")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
        return await super()._execute(self._waiting, fn, args, kwargs)

    def _waiting(self, fn, args, kwargs):
        """In aiosqlite's thread: the statement again, waiting for another process's lock."""
        self._conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        try:
            return fn(*args, **kwargs)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")


def _inline_sqlite(path: str, busy_timeout_ms: int):
    """An engine's `async_creator`: connections that run statements inline."""

    async def connect() -> aiosqlite.Connection:
        return await _InlineSqlite(path, busy_timeout_ms)

    return connect


def _without_creator(options: dict) -> dict:
    return {name: value for name, value in options.items() if name != "async_creator"}


class _InlineCursor(sqlite3.Cursor):
    """A cursor of the synchronous driver on the loop, whose statements never wait on a
    lock there (busy timeout 0). A statement that meets another process's lock
    (SQLITE_BUSY) goes again in a thread, waiting up to the connection's busy timeout, while
    the loop runs on: SQLAlchemy calls it inside its greenlet, so it can await the thread.
    That is what SQLite's own busy handler does (a statement that failed busy changed
    nothing and is simply run again), moved off the loop. This process's writers never meet
    each other (they queue on `Database._write_turn`), and in WAL mode readers and the
    writer do not block each other."""

    def execute(self, sql, parameters=(), /):
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
        return self._waiting(super().execute, sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        rows = list(seq_of_parameters)  # a generator would be spent by the first attempt
        try:
            return super().executemany(sql, rows)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
        return self._waiting(super().executemany, sql, rows)

    async def _async_soft_close(self) -> None:
        """What AsyncSession.execute awaits on a Core result's cursor (an async driver's
        cursor buffers its rows there). sqlite3 reads rows from its own statement on
        demand, so there is nothing to do."""

    def _waiting(self, run, sql, parameters):
        connection = self.connection
        assert isinstance(connection, _InlineConnection)

        def in_thread():
            connection.execute(f"PRAGMA busy_timeout={int(connection.busy_timeout_ms)}")
            try:
                return run(sql, parameters)
            finally:
                connection.execute("PRAGMA busy_timeout=0")

        return await_only(asyncio.to_thread(in_thread))


class _InlineConnection(sqlite3.Connection):
    busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS

    def cursor(self, factory=_InlineCursor):
        return super().cursor(factory)


def _inline_sync_engine(path: str, busy_timeout_ms: int, *, echo: bool, **pool) -> Engine:
    def connect() -> sqlite3.Connection:
        # timeout=0: busy timeout 0 from the first statement; check_same_thread=False: a
        # statement that met a lock runs again in a worker thread (_InlineCursor).
        connection = sqlite3.connect(path, timeout=0, check_same_thread=False, factory=_InlineConnection)
        connection.busy_timeout_ms = busy_timeout_ms
        return connection

    # The URL names no file (the creator opens it), so SQLAlchemy would pick the pool of an
    # in-memory database: name the pool of a file's.
    return create_engine("sqlite://", creator=connect, echo=echo, poolclass=_AwaitingQueuePool, **_JSON_CODEC, **pool)


class _AwaitingQueuePool(QueuePool):
    """SQLAlchemy's queue pool on the asyncio pool's queue: a checkout that finds every
    connection taken awaits one (inside AsyncSession's greenlet, as the asyncio pool does)
    up to `pool_timeout`, where a thread's queue would block the loop the holders run on
    and no connection would ever come back."""

    _queue_class = AsyncAdaptedQueue  # type: ignore[assignment]  # a QueueCommon too; generic in its item


def _inline_sync_sessions(engine: Engine) -> async_sessionmaker:
    """AsyncSessions whose Session runs on a synchronous engine. Every call still goes
    through AsyncSession (one greenlet switch, which never suspends unless a statement met
    another process's lock); inside, no statement hops through an async driver's adapter."""

    def bound(bind=None, binds=None, **kw) -> Session:
        return Session(bind=engine, **kw)

    return async_sessionmaker(expire_on_commit=False, sync_session_class=bound)


def _sqlite_read_pool(pool_timeout: float = DB_POOL_TIMEOUT_SECONDS) -> dict:
    """Readers run in parallel (WAL): enough connections for a busy screen's polls, kept
    open (each is an aiosqlite thread), no overflow churn; a reader beyond them waits up
    to `pool_timeout`."""
    return {"pool_size": 12, "max_overflow": 0, "pool_timeout": pool_timeout}


def _configure_sqlite(engine: AsyncEngine | Engine, *, writer: bool) -> None:
    """WAL, and for writers BEGIN IMMEDIATE: SQLite's default deferred transactions fail
    with 'database is locked' when two readers both upgrade to writers; taking the write
    lock up front makes a check-and-block (read balance, then write) atomic, like SELECT
    ... FOR UPDATE. Read-only sessions begin deferred and never take it."""

    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(target, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(target, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def is_unique_violation(error: Exception) -> bool:
    return isinstance(error, IntegrityError)


class OutboxRelay:
    """Publishes committed outbox rows in order, then marks the batch published in one
    transaction.

    At-least-once: a crash after publish and before the mark republishes the rows under
    their original envelope ids, and consumers drop the duplicates. A publish that fails
    marks what went out before it and leaves the rest for the next round. One relay runs
    per service database.

    One mark per batch, not per row: on SQLite every write queues for the file's one
    write lock, and a mark per row made the relay most of the orders database's writes
    (1,300 of 2,250 write transactions in a 50-trader run, the lock busy 99% of the
    time); on PostgreSQL with a slow fsync a commit per row made the relay, not matching,
    the exchange's ceiling."""

    def __init__(self, db: Database, bus: MessageBus, *, batch: int = 200, poll_interval: float = 0.5):
        self.db = db
        self.bus = bus
        self.batch = batch
        self.poll_interval = poll_interval
        self._task: asyncio.Task | None = None
        # One batch at a time: two overlapping batches would both read (and publish) the
        # rows neither has marked yet.
        self._publishing = asyncio.Lock()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay:{self.db.url}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def publish_pending(self) -> int:
        async with self._publishing:
            return await self._publish_batch()

    async def _publish_batch(self) -> int:
        outbox = self.db.outbox
        assert outbox is not None
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(outbox.c.seq, outbox.c.channel, outbox.c.message_key, outbox.c.payload)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self.batch)
                )
            ).all()
        if not rows:
            return 0
        published: list[int] = []  # only what the bus confirmed is marked
        try:
            # Pipelined where the bus can (one round trip for the batch, not one per row),
            # in the batch's order either way.
            await publish_in_order(self.bus, [(row.channel, Envelope.from_bytes(row.payload), row.message_key) for row in rows])
            published = [row.seq for row in rows]
        except PublishIncomplete as incomplete:
            published = [row.seq for row in rows[: incomplete.confirmed]]
            raise (incomplete.__cause__ or incomplete) from None
        finally:
            if published:
                async with self.db.transaction() as tx:
                    await tx.session.execute(update(outbox).where(outbox.c.seq.in_(published)).values(published_at=utc_now()))
        return len(rows)

    async def _run(self) -> None:
        outage = OutageLog(log, "outbox relay")  # a broker outage: one line, not one per poll
        while True:
            self.db.committed_messages.clear()
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the relay must outlive a broker hiccup
                outage.failed(exc)
                await asyncio.sleep(self.poll_interval)
                continue
            outage.recovered()
            if published < self.batch:
                try:
                    await asyncio.wait_for(self.db.committed_messages.wait(), self.poll_interval)
                except TimeoutError:
                    pass


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime on every backend: SQLite (and MySQL DATETIME) hand back naive
    values, which would not compare with `utc_now()`."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def __repr__(self) -> str:  # how Alembic's autogenerate writes the type
        return "UtcDateTime()"

    def load_dialect_impl(self, dialect):
        # MySQL's DATETIME keeps whole seconds unless asked for microseconds.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=timezone.utc)


class FixedDecimal(TypeDecorator):
    """A Decimal with a fixed number of places, stored exactly as an integer count of units
    (e.g. places=2: centavos). SQLite keeps NUMERIC as a float; this never goes through one."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int = 2):
        super().__init__()
        self.places = places
        self._unit = Decimal(1).scaleb(-places)

    def __repr__(self) -> str:  # how Alembic's autogenerate writes the type
        return f"FixedDecimal({self.places})"

    def process_bind_param(self, value: Decimal | None, dialect) -> int | None:
        if value is None:
            return None
        units = Decimal(value).scaleb(self.places)
        if units != units.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(units)

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) * self._unit).quantize(self._unit)
