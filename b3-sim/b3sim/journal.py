"""The exchange's journal (PostgreSQL on real infrastructure, SQLite embedded).

One transaction per handled command writes: the inbox row (its envelope id, so a
redelivery is a no-op), the command as received (`journal_commands`, in handling order,
with the time the core was given), its fills (`executions`) and its execution reports
(outbox, published afterwards by the relay). So a report is never sent for a command the
journal does not hold, and none is lost: the state change and its events commit together.

Every NewOrder and CancelOrder is journaled, even when it produced no report. A quote is
journaled when it produced reports (a re-quote that filled resting orders) or was its
ticker's latest before a NewOrder (b3sim.app): enough to replay every report exactly,
without a row per market tick. A replay also needs the core's `session` (trade ids)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.dialects.postgresql import JSONB

from b3sim.exchange import FILL, ExecutionReport
from b3sim.wire import report_envelope
from mybroker.db import Database, FixedDecimal, UtcDateTime, messaging_tables
from mybroker.events import EXECUTIONS, Envelope

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


@dataclass
class Entry:
    """A command the core has handled, with its reports, until the journal holds it."""

    message: Envelope
    at: datetime
    reports: list[ExecutionReport]
    # Built once, so a retried write sends the same envelope ids (consumers dedupe on them).
    envelopes: list[Envelope] = field(init=False)

    def __post_init__(self) -> None:
        self.envelopes = [report_envelope(report) for report in self.reports]


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
        async with self.db.transaction() as tx:
            if not await tx.first_time(CONSUMER, entry.message.id):
                return False
            data = entry.message.data
            await tx.session.execute(
                insert(journal_commands).values(
                    message_id=entry.message.id,
                    received_at=entry.at,
                    ticker=data.get("ticker"),
                    kind=entry.message.type,
                    payload=data,
                )
            )
            fills = [report for report in entry.reports if report.exec_type == FILL]
            if fills:
                await tx.session.execute(insert(executions), [_execution_row(report) for report in fills])
            for report, envelope in zip(entry.reports, entry.envelopes):
                await tx.emit(EXECUTIONS, envelope, key=report.order_id)
        return True


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
