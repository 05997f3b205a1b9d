"""The monthly statement (extrato): the account's cash over one calendar month in Brasília,
from the opening balance through each ledger line with its running balance to the closing
balance. Pure arithmetic on posted entries, no I/O.

The balance is the account's cash, `available + blocked`: deposits less withdrawals, sale
proceeds less purchases and every cost, settled or not (each trade line says when it
settles at B3). Reservations and their releases (RESERVE, RELEASE) only move cash between
available and blocked, so they are left out: the month's lines are every other entry,
whatever its type, so a kind the ledger learns later (dividends, JCP, ...) appears in the
statement with no change here, described generically until it has a label.

A line is a ledger entry posted in the month (by its posting time in Brasília), in posting
order; the opening balance sums every such entry posted before the month."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Iterable
from zoneinfo import ZoneInfo

from mybroker.errors import bad_input
from subgraphs.wallet.domain import PostedEntry, TransactionType

ZERO = Decimal("0.00")
# Entries that move cash between available and blocked, not in or out of the account.
BLOCKS = frozenset({TransactionType.RESERVE.value, TransactionType.RELEASE.value})
# Statements of months before this are refused as typos, not answered with an empty month.
FIRST_YEAR = 2000
_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})", re.ASCII)

# What each kind of line is called, pt-BR, keyed by the ledger's type text: a key for a
# kind the ledger does not have yet is harmless, and a kind without a key is described
# by its own name (`describe`).
KIND_LABELS = {
    "DEPOSIT": "Depósito",
    "WITHDRAWAL": "Saque",
    "BUY": "Compra",
    "SELL": "Venda",
    "FEE": "Taxa",
    "FEE_ADJUSTMENT": "Ajuste day trade",
    "DIVIDEND": "Dividendos",
    "JCP": "Juros sobre capital próprio",
    "INTEREST": "Juros",
    "TAX": "Imposto",
    "IRRF": "IRRF",
}
FEE_LABELS = {
    "EMOLUMENTOS": "Emolumentos",
    "LIQUIDACAO": "Taxa de liquidação",
    "CORRETAGEM": "Corretagem",
    "ISS": "ISS",
}


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """"YYYY-MM", or BAD_USER_INPUT saying the shape."""
        found = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
        if found is None:
            raise bad_input(f"'month' must be YYYY-MM, like 2026-12; got {text!r}.")
        year, month = int(found["year"]), int(found["month"])
        if not 1 <= month <= 12:
            raise bad_input(f"'month' {text!r} has no month {month:02d}; months are 01 to 12.")
        if year < FIRST_YEAR:
            raise bad_input(f"Statements start in {FIRST_YEAR}; {text!r} is before.")
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> "Month":
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    @property
    def last_day(self) -> date:
        return self.next.first_day - timedelta(days=1)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the month in `zone`, as UTC instants (what the ledger stores)."""
        start = datetime.combine(self.first_day, time(), zone)
        end = datetime.combine(self.next.first_day, time(), zone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


@dataclass(frozen=True)
class StatementLine:
    entry: PostedEntry
    balance: Decimal  # the account's cash once this line is posted

    @property
    def kind(self) -> str:
        return self.entry.type.value

    @property
    def description(self) -> str:
        return describe(self.entry)


@dataclass(frozen=True)
class Statement:
    user_id: str
    month: Month
    opening_balance: Decimal
    lines: tuple[StatementLine, ...]

    @property
    def closing_balance(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening_balance

    @property
    def credits(self) -> Decimal:
        return sum((line.entry.amount for line in self.lines if line.entry.amount > 0), ZERO)

    @property
    def debits(self) -> Decimal:
        """What left the account in the month, as a positive amount."""
        return -sum((line.entry.amount for line in self.lines if line.entry.amount < 0), ZERO)


def on_statement(entry: PostedEntry) -> bool:
    """Whether an entry is a line of the statement: every kind but the blocks."""
    return entry.type.value not in BLOCKS


def statement(user_id: str, month: Month, opening_balance: Decimal, entries: Iterable[PostedEntry]) -> Statement:
    """The month's statement from the balance before it and its entries in posting order
    (blocks among them are skipped)."""
    balance = opening_balance
    lines = []
    for entry in entries:
        if not on_statement(entry):
            continue
        balance += entry.amount
        lines.append(StatementLine(entry, balance))
    return Statement(user_id, month, opening_balance, tuple(lines))


def brl(amount: Decimal) -> str:
    """1234.5 -> 1.234,50, unsigned (the Brazilian separators)."""
    return f"{abs(amount):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def signed_brl(amount: Decimal) -> str:
    """-1234.5 -> -1.234,50."""
    return ("-" if amount < 0 else "") + brl(amount)


def describe(entry: PostedEntry) -> str:
    """The line as a statement prints it, pt-BR: "Compra PETR4 100 @ 31,45", "Corretagem
    PETR4", "Depósito"; a kind without a label by its own name, with whatever it carries."""
    kind = entry.type.value
    if kind == "FEE" and entry.fee_kind is not None:
        label = FEE_LABELS.get(entry.fee_kind.value, f"Taxa {entry.fee_kind.value.replace('_', ' ').lower()}")
    elif kind == "FEE_ADJUSTMENT" and entry.fee_kind is not None:
        # The day's end: "Ajuste day trade taxa de liquidação".
        label = f"{KIND_LABELS[kind]} {FEE_LABELS.get(entry.fee_kind.value, entry.fee_kind.value).lower()}"
    elif kind == "IRRF" and entry.event_id is None:
        label = "IRRF s/ operações"  # withheld on the day's trades (a dividend's carries its event)
    else:
        label = KIND_LABELS.get(kind) or kind.replace("_", " ").capitalize()
    parts = [label]
    if entry.ticker:
        parts.append(entry.ticker)
    if entry.quantity is not None:
        parts.append(str(entry.quantity))
    if entry.price is not None:
        parts.append(f"@ {brl(entry.price)}")
    return " ".join(parts)
