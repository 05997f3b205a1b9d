"""The exchange's journal (PostgreSQL on real infrastructure, SQLite embedded).

One transaction per batch of handled commands (group commit, b3sim.worker) writes, per
command: the inbox row (its envelope id, so a redelivery is a no-op), the command as
received (`journal_commands`, in handling order, with the time the core was given), its fills (`executions`) and its execution reports
and its trades (outbox, published afterwards by the relay on `broker.executions` and
`b3-trades-v1`). So a report is never sent for a command the journal does not hold, and
none is lost: the state change and its events commit together.

Every NewOrder, CancelOrder, ReplaceOrder, SessionPhase and RulesChanged is journaled,
even when it produced no report; an OrderStatusRequest writes its inbox row and its answer
but no command (it changes nothing). A quote is journaled when it produced reports (a
re-quote that filled resting orders) or was its ticker's latest before a command that
reads it (b3sim.worker): enough to replay every report exactly,
without a row per market tick. A replay also needs the core's `session` (trade ids): it
is kept in `exchange_state`, so a rebuilt core reproduces every execution id
(b3sim.recovery). The schema is migrated by Alembic (`b3sim/migrations/`)."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import AsyncIterator

from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB

from b3sim.exchange import ExecutionReport
from b3sim.tape import trades_of
from b3sim.wire import report_envelope, trade_envelope
from mybroker.db import Database, FixedDecimal, Transaction, UtcDateTime, messaging_tables
from mybroker.events import EXCHANGE_TRADES, EXECUTIONS, Envelope
from mybroker.trading import ExecType

CONSUMER = "b3-sim"

metadata = MetaData()
outbox, inbox = messaging_tables(metadata)

journal_commands = Table(
    "journal_commands",
    metadata,
    # bigserial on PostgreSQL; SQLite autoincrements only an INTEGER primary key.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("ticker", String(16), index=True),
    Column("kind", String(32), nullable=False),  # the envelope type: NewOrder, CancelOrder, Quote
    Column("payload", JSON().with_variant(JSONB, "postgresql"), nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("execution_id", String(80), primary_key=True),
    Column("order_id", String(64), nullable=False, index=True),
    Column("ticker", String(16), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", FixedDecimal(2), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("executed_at", UtcDateTime, nullable=False),
    Column("trade_id", String(80), nullable=False, index=True),
)

# Named values a rebuild needs beside the commands: "session", the prefix of trade ids.
exchange_state = Table(
    "exchange_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)


@dataclass
class Entry:
    """A command the core has handled, with its reports, until the journal holds it."""

    message: Envelope
    at: datetime
    reports: list[ExecutionReport]
    # False for a command that changes nothing (OrderStatusRequest): a replay needs no row.
    journaled: bool = True
    # Built once, so a retried write sends the same envelope ids (consumers dedupe on them).
    envelopes: list[Envelope] = field(init=False)
    trades: list[Envelope] = field(init=False)  # the tape's messages, one per trade

    def __post_init__(self) -> None:
        self.envelopes = [report_envelope(report) for report in self.reports]
        self.trades = [trade_envelope(trade) for trade in trades_of(self.reports)] if self.reports else []


@dataclass(frozen=True)
class JournaledCommand:
    """A command as the journal holds it: its envelope (original id) and the core's time."""

    seq: int
    message: Envelope
    at: datetime


class Journal:
    def __init__(self, db: Database):
        self.db = db

    async def seen(self, message_id: str) -> bool:
        async with self.db.read() as session:
            found = await session.execute(
                select(inbox.c.message_id).where(inbox.c.consumer == CONSUMER, inbox.c.message_id == message_id)
            )
            return found.first() is not None

    async def write(self, entry: Entry) -> bool:
        """Commits the entry; False if its message was journaled already (nothing written)."""
        return (await self.write_batch([entry]))[0]

    async def write_batch(self, entries: list[Entry]) -> list[bool]:
        """Commits the entries, in order, in ONE transaction (group commit): all or none.
        Per entry, False if its message was journaled already (that entry wrote nothing),
        so retrying a batch whose commit outcome is unknown writes each entry once."""
        written: list[bool] = []
        async with self.db.transaction() as tx:
            for entry in entries:
                written.append(await self._write(tx, entry))
        return written

    async def _write(self, tx: Transaction, entry: Entry) -> bool:
        if not await tx.first_time(CONSUMER, entry.message.id):
            return False
        data = entry.message.data
        if entry.journaled:
            await tx.session.execute(
                insert(journal_commands).values(
                    message_id=entry.message.id,
                    received_at=entry.at,
                    ticker=data.get("ticker"),
                    kind=entry.message.type,
                    payload=data,
                )
            )
        fills = [report for report in entry.reports if report.exec_type == ExecType.FILL]
        if fills:
            await tx.session.execute(insert(executions), [_execution_row(report) for report in fills])
        for report, envelope in zip(entry.reports, entry.envelopes):
            await tx.emit(EXECUTIONS, envelope, key=report.order_id)
        for trade in entry.trades:
            await tx.emit(EXCHANGE_TRADES, trade, key=trade.data["ticker"])
        return True

    async def session(self) -> str:
        """The core's session (trade-id prefix): made on the first start, then kept, so a
        core rebuilt from this journal gives every trade the id it had.

        A journal older than rebuilds (commands but no session yet) was written by runs
        that each started with empty books: replaying it would make books that never
        existed, so the rebuild starts after its last command (`replay_after`)."""
        async with self.db.transaction() as tx:
            found = await tx.session.execute(select(exchange_state.c.value).where(exchange_state.c.name == "session"))
            value = found.scalar()
            if value is None:
                value = uuid.uuid4().hex[:8]
                last = (await tx.session.execute(select(func.max(journal_commands.c.seq)))).scalar() or 0
                await tx.session.execute(
                    insert(exchange_state), [{"name": "session", "value": value}, {"name": "replay_after", "value": str(last)}]
                )
            return value

    async def initial_rules(self, configured: dict) -> dict:
        """The rules the journal began under (a RulesChanged payload), kept in
        `exchange_state` at the first start that asks: a replay starts under them, and the
        journaled RulesChanged commands change them as they did. A journal older than this
        keeps `configured` (the rules of the first start that knows about them)."""
        async with self.db.transaction() as tx:
            found = await tx.session.execute(select(exchange_state.c.value).where(exchange_state.c.name == "rules"))
            value = found.scalar()
            if value is None:
                await tx.session.execute(insert(exchange_state), [{"name": "rules", "value": json.dumps(configured, sort_keys=True)}])
                return configured
            return json.loads(value)

    async def replay_after(self) -> int:
        """The journal position a rebuild starts after (0: the whole journal)."""
        async with self.db.read() as session:
            found = await session.execute(select(exchange_state.c.value).where(exchange_state.c.name == "replay_after"))
            return int(found.scalar() or 0)

    async def commands(self, *, after: int = 0, batch: int = 5_000) -> AsyncIterator[JournaledCommand]:
        """The journaled commands after position `after`, in handling order, read in
        batches (keyset on seq)."""
        while True:
            async with self.db.read() as session:
                rows = (
                    await session.execute(
                        select(journal_commands).where(journal_commands.c.seq > after).order_by(journal_commands.c.seq).limit(batch)
                    )
                ).all()
            for row in rows:
                yield JournaledCommand(row.seq, Envelope(row.kind, row.payload, id=row.message_id), row.received_at)
            if len(rows) < batch:
                return
            after = rows[-1].seq


def _execution_row(report: ExecutionReport) -> dict:
    return {
        "execution_id": report.execution_id,
        "order_id": report.order_id,
        "ticker": report.ticker,
        "side": report.side.value if report.side is not None else None,
        "price": report.price,
        "quantity": report.quantity,
        "executed_at": report.time,
        "trade_id": report.trade_id,
    }
