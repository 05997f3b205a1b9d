"""Reconnect noise, rate-limited: one line when an outage starts (with what failed), at most
one summary line per interval while it lasts (with a count), and one line when it ends (with
the count and duration).

Why: with Kafka stopped for 23 s, wallet, reports and b3-sim each wrote about 70,000 error
lines (issue 13): every retry of every loop logged a traceback, and aiokafka logged its own
connection errors at ERROR on each retry. An operator needs to know that it broke, that it is
still broken, and when it came back, not each attempt."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

SUMMARY_INTERVAL_SECONDS = 30.0


class OutageLog:
    """One per retry loop. Call failed(exc) on each failed attempt, recovered() on success."""

    def __init__(self, logger: logging.Logger, what: str, *, interval: float = SUMMARY_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.what, self.interval, self.clock = logger, what, interval, clock
        self.failures = 0
        self.started = self.last_line = 0.0

    @property
    def in_outage(self) -> bool:
        return self.failures > 0

    def failed(self, error: BaseException | str) -> None:
        now = self.clock()
        self.failures += 1
        if self.failures == 1:
            self.started = self.last_line = now
            self.logger.error("%s failed: %s; retrying (one summary every %gs until it recovers)",
                              self.what, _describe(error), self.interval)
        elif now - self.last_line >= self.interval:
            self.last_line = now
            self.logger.warning("%s still failing: %d failures in %.0fs, last: %s",
                                self.what, self.failures, now - self.started, _describe(error))

    def recovered(self) -> None:
        if not self.failures:
            return
        self.logger.warning("%s recovered after %d failures in %.1fs", self.what, self.failures, self.clock() - self.started)
        self.failures = 0


def _describe(error: BaseException | str) -> str:
    return error if isinstance(error, str) else f"{type(error).__name__}: {error}"


class RepeatFilter(logging.Filter):
    """A handler filter for libraries that log each retry themselves (aiokafka logs every failed
    connection at ERROR): the first record of each (logger, message template) passes, then at
    most one per interval, annotated with how many were held back. Raising aiokafka's level
    instead would hide its first error too, which is the line an operator needs."""

    def __init__(self, prefixes: tuple[str, ...] = ("aiokafka", "aiormq", "aio_pika"), *,
                 interval: float = SUMMARY_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.prefixes, self.interval, self.clock = prefixes, interval, clock
        self.seen: dict[tuple[str, object], list] = {}  # key -> [last passed at, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        key = (record.name, record.msg)
        now = self.clock()
        entry = self.seen.get(key)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return False
        if entry is not None and entry[1]:
            record.msg = f"{record.msg} ({entry[1]} like this in the last {now - entry[0]:.0f}s not shown)"
        self.seen[key] = [now, 0]
        if len(self.seen) > 1000:  # templates are few; this only bounds a pathological logger
            self.seen.pop(next(iter(self.seen)))
        return True


def install_repeat_filter(filter_: RepeatFilter | None = None) -> RepeatFilter:
    """On every handler of the root logger (a logger's own filters miss its children's records)."""
    filter_ = filter_ or RepeatFilter()
    for handler in logging.getLogger().handlers:
        if filter_ not in handler.filters:
            handler.addFilter(filter_)
    return filter_
