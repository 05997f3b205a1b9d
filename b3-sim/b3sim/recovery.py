"""Rebuilding the exchange from its journal at start, before anything is consumed.

The core is deterministic (same commands at the same times give the same reports), so
feeding a fresh core every journaled command, in journal order and at its journaled time,
gives back the books as they were: resting orders with their queue positions, the known
order ids (a redelivered NewOrder stays a no-op), the trade counters and the maker's
ladder of the last journaled quote. The reports the replay produces are dropped: the
outbox already holds them, and the relay sends whatever was not sent yet.

Commands are decoded through b3sim.wire, as when they arrived, so every command type the
wire knows replays without changes here."""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from b3sim.exchange import Command, Exchange
from b3sim.journal import Journal
from b3sim.tape import Trade, trades_of
from b3sim.wire import exchange_command, reference_price
from mybroker.events import QUOTE, Envelope

log = logging.getLogger("mybroker.b3sim")


class JournalDecodeError(RuntimeError):
    """A journaled command this build cannot decode: replaying around it would give other
    books than the ones that produced the journal, so the exchange must not start."""


def decode(message: Envelope) -> Command:
    command = reference_price(message) if message.type == QUOTE else exchange_command(message)
    if command is None:
        raise JournalDecodeError(f"journaled {message.type} {message.id} is not a command this exchange knows")
    return command


@dataclass
class Replayed:
    commands: int = 0
    reports: int = 0
    # The latest journaled quote ids (bounded): a redelivered one must not re-quote again.
    quote_ids: deque[str] = field(default_factory=deque)
    last_trades: dict[str, Trade] = field(default_factory=dict)  # per ticker, for the market view


def replay(exchange: Exchange, commands: Iterable[tuple[Envelope, datetime]], *, recent_quotes: int = 10_000) -> Replayed:
    """Feeds journaled (message, time) pairs to `exchange`, in order. Pure."""
    done = Replayed(quote_ids=deque(maxlen=recent_quotes))
    for message, at in commands:
        _apply(exchange, message, at, done)
    return done


async def rebuild(exchange: Exchange, journal: Journal, *, recent_quotes: int = 10_000) -> Replayed:
    """Replays the whole journal into `exchange` (a fresh core with the journal's session)."""
    done = Replayed(quote_ids=deque(maxlen=recent_quotes))
    async for entry in journal.commands(after=await journal.replay_after()):
        _apply(exchange, entry.message, entry.at, done)
    if done.commands:
        log.info("rebuilt the books from %d journaled commands (%d reports already sent)", done.commands, done.reports)
    return done


def _apply(exchange: Exchange, message: Envelope, at: datetime, done: Replayed) -> None:
    reports = exchange.handle(decode(message), at)
    done.reports += len(reports)
    done.commands += 1
    if reports:
        for trade in trades_of(reports):
            done.last_trades[trade.ticker] = trade
    if message.type == QUOTE:
        done.quote_ids.append(message.id)
