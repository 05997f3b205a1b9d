"""Replay of a recorded session as a QuoteSource: quotes from a JSON-lines file (one Quote
payload a line) or from the MongoDB quote history, in their original order and spacing,
scaled by a speed factor (2.0 plays twice as fast).

A round is the run of consecutive quotes that share one time (the simulator's rounds,
Brapi's polls). Replayed quotes are re-stamped as if the session started now, keeping
their spacing divided by the speed, and marked `source: "replay"`: consumers see a live
market, and the archive never confuses a replay with the recorded session. Lines that
are not quotes are logged, counted and skipped."""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone
from decimal import InvalidOperation
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

from ingest.feed import SourceExhausted
from mybroker import wire
from mybroker.events import iso, utcnow

log = logging.getLogger("mybroker.ingest.replay")

Quote = dict[str, Any]
SOURCE = "replay"


def parse_quote(data: Any) -> tuple[datetime, Quote]:
    """A recorded Quote payload and its time; raises ValueError for anything else. The
    payload is checked by the wire's decoder and replayed as recorded."""
    if not isinstance(data, dict):
        raise ValueError("not a Quote payload")
    try:
        moment = wire.Quote.from_payload(data).time
    except (KeyError, TypeError, InvalidOperation, ValueError):
        raise ValueError("not a Quote payload: a field is missing, or its price, change or time is bad") from None
    if moment.tzinfo is None:
        raise ValueError("time has no offset")
    if isinstance(data["volume"], bool) or not isinstance(data["volume"], int):
        raise ValueError("volume is not a whole number")
    return moment.astimezone(timezone.utc), dict(data)


async def rounds(quotes: AsyncIterator[tuple[datetime, Quote]]) -> AsyncIterator[tuple[datetime, list[Quote]]]:
    """Consecutive quotes with one time, grouped."""
    current: list[Quote] = []
    moment: datetime | None = None
    async for when, quote in quotes:
        if current and when != moment:
            assert moment is not None  # set with the first quote
            yield moment, current
            current = []
        moment = when
        current.append(quote)
    if current:
        assert moment is not None
        yield moment, current


def retimed(quotes: Iterable[Quote], moment: datetime) -> list[Quote]:
    return [{**quote, "time": iso(moment), "source": SOURCE} for quote in quotes]


class ReplaySource:
    def __init__(
        self,
        quotes: AsyncIterator[tuple[datetime, Quote]],
        speed: float = 1.0,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] | None = None,
    ):
        if not speed > 0:
            raise ValueError(f"replay speed must be positive, not {speed}")
        self.speed = speed
        self.rounds_played = 0
        self._rounds = rounds(quotes)
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic or (lambda: asyncio.get_running_loop().time())
        self._origin: tuple[datetime, datetime, float] | None = None  # recorded start, stamped start, monotonic start
        self._latest: datetime | None = None

    def offset(self, recorded: datetime) -> float:
        """Seconds after the replay's start at which a round recorded at `recorded` plays."""
        assert self._origin is not None
        return (recorded - self._origin[0]).total_seconds() / self.speed

    async def next_round(self, now: datetime) -> list[Quote]:
        try:
            recorded, quotes = await anext(self._rounds)
        except StopAsyncIteration:
            raise SourceExhausted(f"replay finished after {self.rounds_played} rounds") from None
        if self._origin is None:
            self._origin = (recorded, self._clock(), self._monotonic())
        # An out-of-order line plays at once, stamped no earlier than what went before.
        recorded = max(recorded, self._latest or recorded)
        self._latest = recorded
        offset = self.offset(recorded)
        wait = self._origin[2] + offset - self._monotonic()
        if wait > 0:
            await self._sleep(wait)
        self.rounds_played += 1
        return retimed(quotes, self._origin[1] + timedelta(seconds=offset))


async def file_quotes(path: Path) -> AsyncIterator[tuple[datetime, Quote]]:
    """Quotes of a JSON-lines file, in file order."""
    skipped = 0
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield parse_quote(json.loads(line))
            except ValueError as exc:
                skipped += 1
                log.warning("%s:%d skipped: %s", path, number, exc)
            if number % 1000 == 0:
                await asyncio.sleep(0)  # a long file does not hog the loop
    if skipped:
        log.warning("%s: %d lines were not quotes", path, skipped)


def parse_replay_from(value: str) -> tuple[str, Any]:
    """`mongodb`, `mongodb:YYYY-MM-DD` or a file path -> ("mongodb", date | None) or ("file", Path)."""
    text = value.strip()
    if not text:
        raise ValueError("MYBROKER_REPLAY_FROM is empty: give a JSON-lines file or mongodb[:YYYY-MM-DD]")
    if text == "mongodb" or text.startswith("mongodb:") and not text.startswith("mongodb://"):
        day = text.partition(":")[2]
        try:
            return "mongodb", datetime.strptime(day, "%Y-%m-%d").date() if day else None
        except ValueError:
            raise ValueError(f"MYBROKER_REPLAY_FROM: {day!r} is not a YYYY-MM-DD day") from None
    return "file", Path(text)
