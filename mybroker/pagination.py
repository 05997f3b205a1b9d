"""Cursor pagination for the Relay-style connections (`orderHistory`, `transactionHistory`):
opaque cursors over a table's arrival sequence, and page sizes that are refused past their
limit rather than silently capped (issue 15)."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

from mybroker.errors import bad_input

T = TypeVar("T")
_PREFIX = "seq:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The sequence number a cursor stands for; None for no cursor (the first page)."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        seq = int(text[len(_PREFIX):])
        if seq < 0:
            raise ValueError(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_input("'after' is not a cursor this list gave out.") from None
    return seq


def page_size(first: int | None, default: int, limit: int) -> int:
    """`first` as asked (null: the default); refused, naming the limit, outside 0..limit."""
    if first is None:
        return default
    if first < 0 or first > limit:
        raise bad_input(f"'first' must be between 0 and {limit}.")
    return first


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page, newest first: the items with their sequence numbers, and whether more follow."""

    items: Sequence[tuple[int, T]]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return encode_cursor(self.items[-1][0]) if self.items else None


def page_of(rows: Sequence[tuple[int, T]], first: int) -> Page[T]:
    """From up to first + 1 rows read newest first: the extra row only says more follow."""
    return Page(list(rows[:first]), len(rows) > first)
